/**
 * The partial file `dest + '.part'`: the truth about how far a download got, across crashes.
 * It keeps an incremental sha256 of exactly the bytes appended to it, so a resumed download
 * hashes the existing bytes once and then only what it appends. The file worker does the
 * hashing and the writing (file-channel.ts, file-worker.ts), in the order the calls are made, while this thread
 * reads on.
 */
import { LocalWriteError, TransferError } from './errors.js';
import { FileChannel, type FileOp } from './file-channel.js';

export class PartialFile {
  /** Bytes appended, written or not: where the next append goes. */
  private accepted: number;
  private constructor(
    readonly path: string,
    private readonly channel: FileChannel,
    /** Bytes on the file, as of the last operation that finished. */
    private written: number,
  ) {
    this.accepted = written;
  }

  /** Opens (creating, mode 0600) the partial file and hashes what it holds; content longer than `maxSize` is dropped. */
  static async open(path: string, maxSize: number): Promise<PartialFile> {
    const channel = new FileChannel();
    try {
      const { length } = await channel.request({ op: 'open', path, maxSize });
      return new PartialFile(path, channel, length);
    } catch (e) {
      channel.dispose();
      throw e;
    }
  }

  /** Bytes on the file (once every append has settled, all of them hashed). */
  get length(): number {
    return this.written;
  }

  /** Hex sha256 of the bytes appended so far (the running hash stays usable). */
  async digest(): Promise<string> {
    return (await this.run({ op: 'digest' })).digest!;
  }

  /**
   * Hashes and writes `chunks` after everything appended before; resolves once both are done
   * (the bytes are in the page cache: only `sync()` makes them durable). Rejects, non-retryable
   * and discarding the partial file, if the file would grow past `limit`. The chunks must stay
   * unchanged until the promise settles. A failed write ends this PartialFile: every later call
   * fails too (reopen to resume). Resolves with the number of bytes appended.
   */
  async append(chunks: Buffer[], limit = Number.POSITIVE_INFINITY): Promise<number> {
    let n = 0;
    for (const c of chunks) n += c.length;
    if (this.accepted + n > limit) {
      throw new TransferError(`source sent more bytes than expected (${limit})`, false, { discardPartial: true });
    }
    this.accepted += n;
    await this.run({ op: 'append', chunks });
    return n;
  }

  /** Empties the file and the hash: the next byte appended is byte 0 (ordered after earlier appends). */
  async reset(): Promise<void> {
    this.accepted = 0;
    await this.run({ op: 'reset' });
  }

  /** Flushes written bytes to stable storage (after every earlier append). */
  async sync(): Promise<void> {
    await this.run({ op: 'sync' });
  }

  async close(): Promise<void> {
    try {
      await this.run({ op: 'close' });
    } finally {
      this.channel.dispose();
    }
  }

  private async run(op: FileOp): Promise<{ length: number; digest?: string }> {
    try {
      const result = await this.channel.request(op);
      this.written = result.length;
      return result;
    } catch (e) {
      throw new LocalWriteError(e);
    }
  }
}
