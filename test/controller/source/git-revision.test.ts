import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { GitRevisionError, readManifestsAtRevision } from '../../../controller/source/git-revision.js';

const identity = ['-c', 'user.name=Ferry Test', '-c', 'user.email=test@ferry.invalid', '-c', 'commit.gpgsign=false'];

async function write(root: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

function texts(files: readonly { path: string; content: Uint8Array | string }[]): Record<string, string> {
  return Object.fromEntries(files.map((f) => [f.path, Buffer.from(f.content).toString('latin1')]));
}

describe('controller/source readManifestsAtRevision', function () {
  this.timeout(30_000);
  let root: string;
  let first: string;
  let second: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-git-revision-'));
    const git = simpleGit(root);
    await git.raw(['init', '--quiet', '--initial-branch=main']);
    await write(root, {
      'README.md': 'not a manifest',
      'fleet/b.yaml': 'kind: Group\n',
      'fleet/a/deploy.yml': 'kind: Deployment\n',
      'fleet/.hidden/skip.yaml': 'kind: Host\n',
      'fleet/notes.txt': 'skip',
      'fleet/latin1.yaml': Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0x0a]),
      'other/c.yaml': 'kind: Host\n',
    });
    await git.raw(['add', '-A']);
    await git.raw([...identity, 'commit', '--quiet', '-m', 'first']);
    first = (await git.raw(['rev-parse', 'HEAD'])).trim();
    await write(root, { 'fleet/b.yaml': 'kind: Group # changed\n' });
    await git.raw([...identity, 'commit', '--quiet', '-am', 'second']);
    second = (await git.raw(['rev-parse', 'HEAD'])).trim();
    await git.raw(['tag', 'v1', first]);
    // Uncommitted: never read from a revision.
    await write(root, { 'fleet/b.yaml': 'kind: Group # uncommitted\n', 'fleet/new.yaml': 'kind: Host\n' });
  });
  after(() => rm(root, { recursive: true, force: true }));

  const cases = [
    {
      name: 'a branch: manifest files under DIR, relative to it, sorted, bytes as committed',
      dir: 'fleet',
      rev: 'main',
      want: () => ({
        revision: `main@sha1:${second}`,
        files: { 'a/deploy.yml': 'kind: Deployment\n', 'b.yaml': 'kind: Group # changed\n', 'latin1.yaml': 'name: \xff\n' },
      }),
    },
    {
      name: 'a relative revision names the older commit',
      dir: 'fleet',
      rev: 'main~1',
      want: () => ({
        revision: `main~1@sha1:${first}`,
        files: { 'a/deploy.yml': 'kind: Deployment\n', 'b.yaml': 'kind: Group\n', 'latin1.yaml': 'name: \xff\n' },
      }),
    },
    {
      name: 'a tag, and a subfolder of DIR reads only that folder',
      dir: 'fleet/a',
      rev: 'v1',
      want: () => ({ revision: `v1@sha1:${first}`, files: { 'deploy.yml': 'kind: Deployment\n' } }),
    },
    {
      name: 'the repository root, at HEAD',
      dir: '.',
      rev: 'HEAD',
      want: () => ({
        revision: `HEAD@sha1:${second}`,
        files: {
          'fleet/a/deploy.yml': 'kind: Deployment\n',
          'fleet/b.yaml': 'kind: Group # changed\n',
          'fleet/latin1.yaml': 'name: \xff\n',
          'other/c.yaml': 'kind: Host\n',
        },
      }),
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const got = await readManifestsAtRevision(join(root, c.dir), c.rev);
      expect({ revision: got.revision, files: texts(got.files) }).to.deep.equal(c.want());
      expect(got.files.map((f) => f.path)).to.deep.equal(Object.keys(c.want().files));
    });
  }

  it('a folder that did not exist at the revision holds no manifests then', async () => {
    await mkdir(join(root, 'later'), { recursive: true });
    const got = await readManifestsAtRevision(join(root, 'later'), 'main');
    expect(got).to.deep.equal({ revision: `main@sha1:${second}`, commit: second, files: [] });
  });

  const failures = [
    { name: 'an unknown revision', dir: () => join(root, 'fleet'), rev: 'no-such-branch', problem: 'bad-revision', message: "unknown revision 'no-such-branch'" },
    { name: 'a revision that looks like an option', dir: () => join(root, 'fleet'), rev: '--all', problem: 'bad-revision', message: "'--all' is not a git revision" },
    { name: 'a directory outside any repository', dir: () => tmpdir(), rev: 'main', problem: 'not-a-repository', message: 'is not inside a git repository' },
    { name: 'a missing directory', dir: () => join(root, 'nope'), rev: 'main', problem: 'no-directory', message: 'is not a directory' },
  ];
  for (const c of failures) {
    it(`${c.name} is a GitRevisionError (${c.problem})`, async () => {
      const err = await readManifestsAtRevision(c.dir(), c.rev).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(GitRevisionError);
      expect((err as GitRevisionError).problem).to.equal(c.problem);
      expect((err as GitRevisionError).message).to.contain(c.message);
    });
  }
});
