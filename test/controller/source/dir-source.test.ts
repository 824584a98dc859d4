import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentHash, DirSource } from '../../../controller/source/dir-source.js';
import { eventually } from '../../support/eventually.js';
import { clock, logger, texts } from './source-helpers.js';

describe('controller/source DirSource', function () {
  this.timeout(30_000);
  let dir: string;
  let source: DirSource | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-dir-'));
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('names a snapshot by the hash of its contents and picks up an edit, a new file and a deletion', async () => {
    await writeFile(join(dir, 'a.yaml'), 'a: 1\n');
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'x.yaml'), 'skipped\n');
    source = new DirSource({ dir, pollMs: 60_000, debounceMs: 50, clock, logger });
    const seen: string[] = [];
    source.onSnapshot((s) => seen.push(s.revision));
    await source.start();
    const first = source.current();
    expect(first?.revision).to.equal(`dir@sha256:${contentHash(first!.files)}`);
    expect(first?.revision).to.match(/^dir@sha256:[0-9a-f]{64}$/);
    expect(texts(first)).to.deep.equal({ 'a.yaml': 'a: 1\n' });

    await writeFile(join(dir, 'a.yaml'), 'a: 2\n');
    await eventually(() => texts(source!.current())['a.yaml'] === 'a: 2\n', 'the edit');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'b.yml'), 'b\n');
    await eventually(() => texts(source!.current())['sub/b.yml'] === 'b\n', 'the new file');
    await rm(join(dir, 'a.yaml'));
    await eventually(() => Object.keys(texts(source!.current())).join() === 'sub/b.yml', 'the deletion');
    // Each distinct content was one new revision; the same content twice is the same revision.
    expect(new Set(seen).size).to.equal(seen.length);
    expect(seen.length).to.be.at.least(4);
    expect(source.status()).to.include({ kind: 'dir', url: dir, ready: true });
  });

  it('the same files give the same revision, whatever the order they are listed in', () => {
    const a = { path: 'a.yaml', content: 'x' };
    const b = { path: 'b.yaml', content: new TextEncoder().encode('y') };
    expect(contentHash([a, b])).to.equal(contentHash([b, a]));
    expect(contentHash([a, b])).not.to.equal(contentHash([a, { ...b, path: 'c.yaml' }]));
  });

  it('records a missing directory as a fetch error without throwing', async () => {
    source = new DirSource({ dir: join(dir, 'nope'), pollMs: 60_000, clock, logger });
    await source.start();
    expect(source.status().ready).to.equal(false);
    expect(source.status().error?.message).to.equal(`directory ${join(dir, 'nope')} does not exist`);
  });
});
