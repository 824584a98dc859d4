/** The relay's shared chunks: one read per chunk however many take it; memory reused only once every taker released it. */
import { expect } from 'chai';
import { ChunkPool } from '../../../agent/relay/chunk-pool.js';

const fill = (byte: number) => async (into: Buffer) => void into.fill(byte);

describe('relay: ChunkPool', () => {
  it('reads a chunk once for every response taking it at once', async () => {
    const pool = new ChunkPool(4, 2);
    let reads = 0;
    const read = async (into: Buffer) => {
      reads++;
      into.fill(7);
    };
    const [a, b] = await Promise.all([pool.get('k', 2, read), pool.get('k', 2, read)]);
    expect({ reads, a: [...a.bytes], same: a.bytes === b.bytes }).to.deep.equal({ reads: 1, a: [7, 7], same: true });
  });

  it("reuses an evicted chunk's memory only after every taker released it", async () => {
    // Room for one 2-byte chunk: each new key evicts the one before.
    const pool = new ChunkPool(2, 2);
    const first = await pool.get('a', 2, fill(1));
    const held = first.bytes;
    const second = await pool.get('b', 2, fill(2)); // evicts 'a', still held: its memory must not be reused
    expect([...held]).to.deep.equal([1, 1]);
    const third = await pool.get('c', 2, fill(3)); // evicts 'b', still held
    expect({ held: [...held], second: [...second.bytes], third: [...third.bytes], fresh: third.bytes !== held }).to.deep.equal({
      held: [1, 1],
      second: [2, 2],
      third: [3, 3],
      fresh: true,
    });
    first.release();
    first.release(); // a second release changes nothing
    await new Promise((r) => setImmediate(r));
    const fourth = await pool.get('d', 2, fill(4)); // 'a' was released after it left the pool: its memory comes back
    expect({ reused: fourth.bytes === held, second: [...second.bytes] }).to.deep.equal({ reused: true, second: [2, 2] });
  });

  it('a failed read is not pooled: the next taker reads again', async () => {
    const pool = new ChunkPool(4, 2);
    const failed = await pool
      .get('k', 2, async () => Promise.reject(new Error('disk')))
      .then(
        () => 'read',
        (e: Error) => e.message,
      );
    const again = await pool.get('k', 2, fill(9));
    expect({ failed, again: [...again.bytes] }).to.deep.equal({ failed: 'disk', again: [9, 9] });
  });
});
