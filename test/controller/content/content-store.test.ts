import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { DirectoryContentStore, InvalidSha256Error } from '../../../controller/content/index.js';

const sha = (data: string) => createHash('sha256').update(data).digest('hex');
const body = 'hello, fleet\n'.repeat(1000);
const bodySha = sha(body);

/** Every file under `dir`, relative, sorted. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('controller/content DirectoryContentStore', () => {
  let root: string;
  let store: DirectoryContentStore;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ferry-content-'));
    store = new DirectoryContentStore(join(root, 'content'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('stores content under its sha256 after verifying it', async () => {
    const chunks = [body.slice(0, 100), body.slice(100)].map((c) => Buffer.from(c));
    expect(await store.put(Readable.from(chunks), bodySha, { expectedSize: body.length })).to.deep.equal({ ok: true, sha256: bodySha, size: body.length, existed: false });
    expect(files(store.root)).to.deep.equal([`${bodySha.slice(0, 2)}/${bodySha}`]);
    expect(readFileSync(store.path(bodySha), 'utf8')).to.equal(body);
    expect(await store.has(bodySha)).to.equal(true);
    expect(await store.stat(bodySha)).to.deep.include({ sha256: bodySha, size: body.length });
    expect(await store.put(Readable.from([Buffer.from(body)]), bodySha)).to.deep.equal({ ok: true, sha256: bodySha, size: body.length, existed: true });
    expect(files(store.root)).to.deep.equal([`${bodySha.slice(0, 2)}/${bodySha}`]);
  });

  it('leaves nothing behind when the content does not match', async () => {
    const wrong = sha('something else');
    expect(await store.put(Readable.from([Buffer.from(body)]), wrong)).to.deep.equal({
      ok: false,
      error: 'sha256-mismatch',
      expectedSha256: wrong,
      actualSha256: bodySha,
      size: body.length,
    });
    expect(await store.put(Readable.from([Buffer.from(body)]), bodySha, { expectedSize: 10 })).to.deep.equal({
      ok: false,
      error: 'size-mismatch',
      expectedSha256: bodySha,
      expectedSize: 10,
      size: body.length,
    });
    expect(await store.put(Readable.from([Buffer.from(body)]), bodySha, { expectedSize: body.length + 1 })).to.deep.equal({
      ok: false,
      error: 'size-mismatch',
      expectedSha256: bodySha,
      actualSha256: bodySha,
      expectedSize: body.length + 1,
      size: body.length,
    });
    expect(files(store.root)).to.deep.equal([]);
    expect(await store.has(wrong)).to.equal(false);
    expect(await store.stat(wrong)).to.equal(undefined);
    expect(await store.open(wrong)).to.equal(undefined);
  });

  it('leaves nothing behind when the source stream fails', async () => {
    async function* broken() {
      yield Buffer.from('partial');
      throw new Error('connection reset');
    }
    let caught: unknown;
    await store.put(broken(), bodySha).catch((err: unknown) => (caught = err));
    expect((caught as Error).message).to.equal('connection reset');
    expect(files(store.root)).to.deep.equal([]);
  });

  it('reads whole content and byte ranges (ends inclusive)', async () => {
    await store.put(Readable.from([Buffer.from(body)]), bodySha);
    expect(await text((await store.open(bodySha))!)).to.equal(body);
    expect(await text((await store.open(bodySha, { start: 7, end: 11 }))!)).to.equal('fleet');
    expect(await text((await store.open(bodySha, { start: body.length - 6 }))!)).to.equal('fleet\n');
    let caught: unknown;
    await store.open(bodySha, { start: 0, end: body.length }).catch((err: unknown) => (caught = err));
    expect(caught).to.be.instanceOf(RangeError);
  });

  it('stores empty content', async () => {
    const empty = sha('');
    expect(await store.put(Readable.from([]), empty)).to.deep.equal({ ok: true, sha256: empty, size: 0, existed: false });
    expect(await text((await store.open(empty))!)).to.equal('');
  });

  const bad = ['', '../../etc/passwd', bodySha.toUpperCase(), bodySha.slice(1), `${bodySha}0`, `../${bodySha.slice(3)}`, `${bodySha.slice(0, 63)}/`];
  for (const value of bad) {
    it(`refuses ${JSON.stringify(value.slice(0, 20))}… as a digest before touching a path`, async () => {
      expect(() => store.path(value)).to.throw(InvalidSha256Error);
      for (const call of [() => store.has(value), () => store.stat(value), () => store.open(value), () => store.put(Readable.from([]), value)]) {
        let caught: unknown;
        await call().catch((err: unknown) => (caught = err));
        expect(caught).to.be.instanceOf(InvalidSha256Error);
      }
      expect(files(store.root)).to.deep.equal([]);
    });
  }
});
