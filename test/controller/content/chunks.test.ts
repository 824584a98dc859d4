/** Per-chunk sha256s of stored artifacts (controller/content/chunks.ts), on a real directory store. */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHUNK_SIZE, ChunkIndex, chunkHashes, DirectoryContentStore } from '../../../controller/content/index.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The reference: each `size`-byte slice hashed on its own. */
function sliced(body: Buffer, size: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < body.length; at += size) out.push(sha(body.subarray(at, at + size)));
  return out;
}

describe('controller/content chunk hashes', () => {
  it('hashes each chunk whatever the pieces the stream arrives in (the last chunk short)', async () => {
    const body = randomBytes(10 * 1000 + 7);
    // Pieces of 1, 999, 3000… bytes: across chunk boundaries and inside them.
    const pieces: Buffer[] = [];
    for (let at = 0, n = 1; at < body.length; at += n, n = (n * 7 + 3) % 3001) pieces.push(body.subarray(at, at + n));
    expect(await chunkHashes(pieces, 1000)).to.deep.equal({ size: 1000, sha256: sliced(body, 1000) });
    expect((await chunkHashes([body.subarray(0, 3000)], 1000)).sha256).to.have.length(3);
    expect(await chunkHashes([], 1000)).to.deep.equal({ size: 1000, sha256: [] });
  });

  describe('ChunkIndex', () => {
    let root: string;
    let store: DirectoryContentStore;
    const body = randomBytes(2 * CHUNK_SIZE + 12345);
    const bodySha = sha(body);
    beforeEach(async () => {
      root = mkdtempSync(join(tmpdir(), 'ferry-chunks-'));
      store = new DirectoryContentStore(join(root, 'content'));
      expect((await store.put([body], bodySha)).ok).to.equal(true);
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('computes 1 MiB chunks of stored content once and keeps them beside it', async () => {
      const chunks = await new ChunkIndex(store).get(bodySha, body.length);
      expect(chunks).to.deep.equal({ size: CHUNK_SIZE, sha256: sliced(body, CHUNK_SIZE) });
      expect(JSON.parse(readFileSync(`${store.path(bodySha)}.chunks`, 'utf8'))).to.deep.equal(chunks);
    });

    it('reads the sidecar instead of the content when it is whole, and computes again when it is not', async () => {
      const sidecar = `${store.path(bodySha)}.chunks`;
      const marked = { size: CHUNK_SIZE, sha256: ['a', 'b', 'c'].map((c) => c.repeat(64)) };
      writeFileSync(sidecar, JSON.stringify(marked));
      expect(await new ChunkIndex(store).get(bodySha, body.length)).to.deep.equal(marked);
      writeFileSync(sidecar, JSON.stringify({ size: CHUNK_SIZE, sha256: ['a'.repeat(64)] }));
      expect(await new ChunkIndex(store).get(bodySha, body.length)).to.deep.equal({ size: CHUNK_SIZE, sha256: sliced(body, CHUNK_SIZE) });
      writeFileSync(sidecar, '{"size": 1048');
      expect((await new ChunkIndex(store).get(bodySha, body.length))?.sha256).to.deep.equal(sliced(body, CHUNK_SIZE));
    });

    it('has none for content not stored, stored with another size, or a digest that is not one', async () => {
      const index = new ChunkIndex(store);
      const absent = sha(Buffer.from('absent'));
      expect(await index.get(absent, 6)).to.equal(undefined);
      expect(await index.get(bodySha, body.length + 1)).to.equal(undefined);
      expect(await index.get('../x', 1)).to.equal(undefined);
      expect(existsSync(`${store.path(absent)}.chunks`)).to.equal(false);
      // Stored later: found then (a miss is not remembered).
      const late = Buffer.from('absent');
      expect((await store.put([late], absent)).ok).to.equal(true);
      expect(await index.get(absent, 6)).to.deep.equal({ size: CHUNK_SIZE, sha256: [absent] });
    });
  });
});
