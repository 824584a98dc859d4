/** Keeps only the last `limit` bytes of a byte stream (the last 4 KiB of a program's output). */
export class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly limit = 4096) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= this.limit) {
      this.bytes -= this.chunks.shift()!.length;
    }
  }

  /** The tail as text; a UTF-8 character cut at the start is dropped, not garbled. */
  text(): string {
    let tail = Buffer.concat(this.chunks);
    if (tail.length > this.limit) tail = tail.subarray(tail.length - this.limit);
    let start = 0;
    while (start < tail.length && start < 3 && (tail[start]! & 0xc0) === 0x80) start++;
    return tail.subarray(start).toString('utf8');
  }
}
