/** `ManifestSource.readFile`: repository files at a revision, for content ingestion. */
import { expect } from 'chai';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { DirSource } from '../../../controller/source/dir-source.js';
import { GitSource } from '../../../controller/source/git-source.js';
import { makeGitFixture, type GitFixture } from './git-fixture.js';
import { clock, logger } from './source-helpers.js';

async function text(file: Promise<NodeJS.ReadableStream | Uint8Array | undefined>): Promise<string | undefined> {
  const got = await file;
  if (got === undefined) return undefined;
  return got instanceof Uint8Array ? Buffer.from(got).toString() : (await buffer(got)).toString();
}

async function refusal(file: Promise<unknown>): Promise<string> {
  try {
    await file;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('controller/source readFile', function () {
  this.timeout(60_000);

  describe('GitSource', () => {
    let repo: GitFixture;
    let data: string;
    let source: GitSource;
    beforeEach(async () => {
      repo = await makeGitFixture();
      data = await mkdtemp(join(tmpdir(), 'ferry-data-'));
      source = new GitSource({ repo: repo.origin, branch: 'main', workDir: join(data, 'source'), path: 'manifests', pollMs: 60_000, clock, logger });
    });
    afterEach(async () => {
      await source.stop();
      await repo.cleanup();
      await rm(data, { recursive: true, force: true });
    });

    it('reads a blob at each revision (relative to the repository root), and refuses paths that leave it', async () => {
      const big = Buffer.alloc(3 * 1024 * 1024, 7);
      const first = await repo.commit({ 'manifests/a.yaml': 'kind: x\n', 'artifacts/a.tar.gz': 'version one\n' });
      await writeFile(join(repo.work, 'big.bin'), big);
      await symlink('artifacts/a.tar.gz', join(repo.work, 'link.tar.gz'));
      const second = await repo.commit({ 'artifacts/a.tar.gz': 'version two\n' });
      await source.start();
      expect(source.current()?.revision).to.equal(`main@sha1:${second}`);
      // The mirror holds every commit it fetched: an older revision reads as it was.
      await source.refresh();
      expect(await text(source.readFile(`main@sha1:${second}`, 'artifacts/a.tar.gz'))).to.equal('version two\n');
      expect(await text(source.readFile(`main@sha1:${second}`, './artifacts//a.tar.gz'))).to.equal('version two\n');
      expect(await text(source.readFile(`main@sha1:${first}`, 'artifacts/a.tar.gz'))).to.equal('version one\n');
      const bigRead = await source.readFile(`main@sha1:${second}`, 'big.bin');
      expect((await buffer(bigRead as NodeJS.ReadableStream)).equals(big)).to.equal(true);
      expect(await source.readFile(`main@sha1:${second}`, 'artifacts/missing.tar.gz')).to.equal(undefined);
      expect(await source.readFile(`main@sha1:${first}`, 'big.bin')).to.equal(undefined);
      expect(await refusal(source.readFile(`main@sha1:${second}`, '../origin.git/HEAD'))).to.match(/not a file path inside the repository/);
      expect(await refusal(source.readFile(`main@sha1:${second}`, '/etc/passwd'))).to.match(/not a relative path/);
      expect(await refusal(source.readFile(`main@sha1:${second}`, 'artifacts'))).to.match(/is a folder, not a file/);
      expect(await refusal(source.readFile(`main@sha1:${second}`, 'link.tar.gz'))).to.match(/symbolic link/);
      expect(await refusal(source.readFile('dir@sha256:abc', 'artifacts/a.tar.gz'))).to.match(/not a revision of this git source/);
    });
    it('reads many files at once, each whole and in its own stream, past a large one its reader abandons', async () => {
      const big = Buffer.alloc(3 * 1024 * 1024, 7);
      await writeFile(join(repo.work, 'big.bin'), big);
      const files = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`artifacts/f${i}.bin`, `content ${i}\n`.repeat(i * 50)]));
      const commit = await repo.commit({ 'manifests/a.yaml': 'kind: x\n', ...files });
      await source.start();
      const revision = `main@sha1:${commit}`;
      const abandoned = (await source.readFile(revision, 'big.bin')) as NodeJS.ReadableStream & { destroy(): void };
      const reads = Object.keys(files).map((path) => text(source.readFile(revision, path)));
      abandoned.destroy();
      expect(await Promise.all(reads)).to.deep.equal(Object.values(files));
      // After the process ended with nothing left to read, the next read starts another.
      const again = await source.readFile(revision, 'big.bin');
      expect((await buffer(again as NodeJS.ReadableStream)).equals(big)).to.equal(true);
      expect(await text(source.readFile(revision, 'artifacts/f3.bin'))).to.equal(files['artifacts/f3.bin']);
    });
  });

  describe('DirSource', () => {
    let root: string;
    let source: DirSource;
    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), 'ferry-dir-'));
      await mkdir(join(root, 'm', 'artifacts'), { recursive: true });
      source = new DirSource({ dir: join(root, 'm'), pollMs: 60_000, clock, logger });
    });
    afterEach(async () => {
      await source.stop();
      await rm(root, { recursive: true, force: true });
    });

    it('reads files inside the directory and refuses links and paths that leave it', async () => {
      await writeFile(join(root, 'm', 'artifacts', 'a.tar.gz'), 'on disk\n');
      await writeFile(join(root, 'secret'), 'outside\n');
      await symlink(join(root, 'secret'), join(root, 'm', 'artifacts', 'out.tar.gz'));
      await symlink('a.tar.gz', join(root, 'm', 'artifacts', 'in.tar.gz'));
      expect(await text(source.readFile('dir@sha256:any', 'artifacts/a.tar.gz'))).to.equal('on disk\n');
      expect(await text(source.readFile('dir@sha256:any', 'artifacts/in.tar.gz'))).to.equal('on disk\n');
      expect(await source.readFile('dir@sha256:any', 'artifacts/missing.tar.gz')).to.equal(undefined);
      expect(await refusal(source.readFile('dir@sha256:any', 'artifacts/out.tar.gz'))).to.match(/leads out of the directory/);
      expect(await refusal(source.readFile('dir@sha256:any', '../secret'))).to.match(/not a file path inside/);
      expect(await refusal(source.readFile('dir@sha256:any', 'artifacts'))).to.match(/not a file/);
    });
  });
});
