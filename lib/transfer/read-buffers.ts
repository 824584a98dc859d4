/**
 * Memory for a socket's `onread`: each read lands in the free end of a 1 MiB slab, and a slab
 * is reused once nothing holds a view of it. On a fast link one read fills up to a whole slab;
 * over TLS, where every read is one record of at most 16 KiB, many reads share a slab. Slabs are
 * SharedArrayBuffers, so the hash worker reads the bytes where they landed.
 */
export class ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly holds = new Map<Buffer, number>();
  private current: Buffer;
  private used = 0;

  constructor(
    private readonly slabSize = 1 << 20,
    /** Slabs held at once before `full` asks the reader to stop. */
    private readonly maxHeld = 16,
    /** A slab with less room than this is retired for the next read. */
    private readonly minRead = 64 << 10,
  ) {
    this.current = slab(slabSize);
  }

  /** Where the next read goes (for `onread.buffer`). */
  next(): Buffer {
    if (this.current.length - this.used < this.minRead) {
      if (!this.holds.has(this.current)) this.used = 0;
      else {
        this.current = this.free.pop() ?? slab(this.slabSize);
        this.used = 0;
      }
    }
    return this.current.subarray(this.used);
  }

  /**
   * The `n` bytes the last read put where `next()` pointed, and the slab they live in. They are
   * overwritten by later reads unless the slab is held.
   */
  filled(n: number): { readonly slab: Buffer; readonly bytes: Buffer } {
    const bytes = this.current.subarray(this.used, this.used + n);
    this.used += n;
    return { slab: this.current, bytes };
  }

  hold(slab: Buffer): void {
    this.holds.set(slab, (this.holds.get(slab) ?? 0) + 1);
  }

  release(slab: Buffer): void {
    const left = (this.holds.get(slab) ?? 1) - 1;
    if (left > 0) return void this.holds.set(slab, left);
    this.holds.delete(slab);
    if (slab !== this.current) this.free.push(slab);
  }

  /** True when so many slabs are held that reading should wait for a release. */
  get full(): boolean {
    return this.holds.size >= this.maxHeld;
  }
}

const slab = (size: number): Buffer => Buffer.from(new SharedArrayBuffer(size));
