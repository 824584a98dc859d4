/**
 * Which blocks of an artifact a receiver holds: a bitmap, its missing blocks as coalesced byte
 * ranges (what HTTP Range repair asks for), and a file form so a restarted receiver keeps what
 * it had. A block is marked only after its bytes were written.
 */
export interface ByteRange {
  /** First byte. */
  readonly start: number;
  /** Last byte, inclusive (as in `Range: bytes=start-end`). */
  readonly end: number;
}

/**
 * `ranges` (in order) with neighbours less than `maxHole` bytes apart joined into one: fetching a
 * few held bytes again costs less than another request.
 */
export function coalesceRanges(ranges: readonly ByteRange[], maxHole: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start - last.end - 1 < maxHole) out[out.length - 1] = { start: last.start, end: r.end };
    else out.push(r);
  }
  return out;
}

export class GapList {
  private readonly bits: Uint8Array;
  private held = 0;

  constructor(
    readonly size: number,
    readonly blockSize: number,
  ) {
    this.bits = new Uint8Array(Math.ceil(this.blocks / 8));
  }

  /** Blocks in the artifact. */
  get blocks(): number {
    return Math.ceil(this.size / this.blockSize);
  }

  /** Blocks held. */
  get count(): number {
    return this.held;
  }

  get complete(): boolean {
    return this.held === this.blocks;
  }

  /** Bytes of block `index` (the last one may be short). */
  lengthOf(index: number): number {
    return Math.min(this.blockSize, this.size - index * this.blockSize);
  }

  has(index: number): boolean {
    return (this.bits[index >> 3]! & (1 << (index & 7))) !== 0;
  }

  mark(index: number): void {
    if (this.has(index)) return;
    this.bits[index >> 3]! |= 1 << (index & 7);
    this.held++;
  }

  clear(index: number): void {
    if (!this.has(index)) return;
    this.bits[index >> 3]! &= ~(1 << (index & 7));
    this.held--;
  }

  /** Bytes not held. */
  missingBytes(): number {
    let n = 0;
    for (const r of this.missing()) n += r.end - r.start + 1;
    return n;
  }

  /** The missing bytes as ranges, adjacent blocks joined, in order. */
  missing(): ByteRange[] {
    const ranges: ByteRange[] = [];
    let from = -1;
    for (let i = 0; i <= this.blocks; i++) {
      const gap = i < this.blocks && !this.has(i);
      if (gap && from < 0) from = i;
      if (!gap && from >= 0) {
        ranges.push({ start: from * this.blockSize, end: Math.min(i * this.blockSize, this.size) - 1 });
        from = -1;
      }
    }
    return ranges;
  }

  /** The file form: size and block size, then the bitmap. */
  toBuffer(): Buffer {
    const head = Buffer.alloc(12);
    head.writeUIntBE(this.size, 0, 6);
    head.writeUInt32BE(this.blockSize, 6);
    head.writeUInt16BE(0, 10);
    return Buffer.concat([head, this.bits]);
  }

  /** The gap list a file held, or an empty one when it describes another size or block size (or is damaged). */
  static fromBuffer(b: Buffer | undefined, size: number, blockSize: number): GapList {
    const list = new GapList(size, blockSize);
    if (b === undefined || b.length !== 12 + list.bits.length || b.readUIntBE(0, 6) !== size || b.readUInt32BE(6) !== blockSize) return list;
    for (let i = 0; i < list.blocks; i++) if ((b[12 + (i >> 3)]! & (1 << (i & 7))) !== 0) list.mark(i);
    return list;
  }
}
