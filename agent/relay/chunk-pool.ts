/**
 * Chunks of artifacts recently read for hosts, shared by every response reading the same chunk:
 * when a site's hosts download one artifact at once they move through it together, so each 1 MiB
 * chunk is read from disk and allocated once for all of them instead of once per host (the
 * relay's serving cost was reads and garbage collection of those per-host copies). Bounded in
 * bytes, least recently used first out; a chunk read is shared while under way. A chunk is
 * immutable once read: keys name the cache entry and its transfer generation.
 *
 * A chunk's memory is reused for a later chunk once it left the pool and every response that took
 * it released it (its socket write completed), so serving a large artifact does not allocate, and
 * garbage-collect, one fresh buffer per chunk. A chunk never released is left to the collector.
 */
interface Pooled {
  readonly loading: Promise<Buffer>;
  readonly memory: Buffer;
  refs: number;
  pooled: boolean;
}

/** A chunk taken from the pool: `release()` once nothing reads `bytes` any more (exactly once). */
export interface Chunk {
  readonly bytes: Buffer;
  release(): void;
}

export class ChunkPool {
  private readonly chunks = new Map<string, Pooled>();
  private readonly spare: Buffer[] = [];
  private used = 0;

  constructor(
    private readonly maxBytes = 64 * 1024 * 1024,
    /** Size of the buffers kept for reuse (a full chunk); others are allocated each time. */
    private readonly chunkBytes = 1 << 20,
    private readonly maxSpare = 16,
  ) {}

  /** The chunk `key` (`bytes` long), read into the given memory with `read` unless pooled or being read. */
  async get(key: string, bytes: number, read: (into: Buffer) => Promise<void>): Promise<Chunk> {
    let c = this.chunks.get(key);
    if (c) {
      this.chunks.delete(key);
      this.chunks.set(key, c);
    } else {
      const memory = (bytes === this.chunkBytes ? this.spare.pop() : undefined) ?? Buffer.allocUnsafe(bytes);
      const loaded = read(memory).then(() => memory);
      c = { loading: loaded, memory, refs: 0, pooled: true };
      const pooled = c;
      this.chunks.set(key, pooled);
      this.used += bytes;
      loaded.catch(() => {
        // A failed read's memory is not reused: the read may still land in it.
        if (this.chunks.get(key) === pooled) this.forget(key, pooled);
      });
      while (this.used > this.maxBytes && this.chunks.size > 1) {
        const [oldest, entry] = this.chunks.entries().next().value!;
        this.forget(oldest, entry);
        this.recycle(entry);
      }
    }
    const taken = c;
    taken.refs++;
    let bytesRead: Buffer;
    try {
      bytesRead = await taken.loading;
    } catch (e) {
      taken.refs--;
      throw e;
    }
    let released = false;
    return {
      bytes: bytesRead,
      release: () => {
        if (released) return;
        released = true;
        taken.refs--;
        this.recycle(taken);
      },
    };
  }

  private forget(key: string, c: Pooled): void {
    this.chunks.delete(key);
    this.used -= c.memory.length;
    c.pooled = false;
  }

  /** Keeps the memory of a chunk out of the pool and no longer read, for the next chunk. */
  private recycle(c: Pooled): void {
    if (c.pooled || c.refs > 0 || c.memory.length !== this.chunkBytes || this.spare.length >= this.maxSpare) return;
    // Only a chunk whose read succeeded (a failed one is never recycled: forget() ran from its catch).
    c.loading.then(
      () => {
        if (!this.spare.includes(c.memory) && this.spare.length < this.maxSpare) this.spare.push(c.memory);
      },
      () => undefined,
    );
  }
}
