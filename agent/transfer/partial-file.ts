/**
 * The partial file `dest + '.part'`: the truth about how far a download got, across crashes.
 * It keeps an incremental sha256 of exactly the bytes appended to it, so a resumed download
 * hashes the existing bytes once and then only what it appends. Each append is hashed (on the
 * hash worker) and written (by libuv's pool) at the same time, while this thread reads on.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { LocalWriteError, TransferError } from './errors.js';
import { Sha256Stream } from './hasher.js';

/** One step of the file's write queue: bytes at a position, or truncation to nothing. */
type Op =
  | { readonly kind: 'write'; readonly at: number; readonly chunks: Buffer[]; readonly done: Settle }
  | { readonly kind: 'truncate'; readonly done: Settle };
type Settle = { readonly resolve: () => void; readonly reject: (e: unknown) => void };

export class PartialFile {
  /** Bytes appended (hashed), written or not: where the next append goes. */
  private accepted: number;
  private readonly queue: Op[] = [];
  private writing = false;
  private broken: LocalWriteError | undefined;
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly hash: Sha256Stream,
    /** Bytes on the file. */
    private bytes: number,
  ) {
    this.accepted = bytes;
  }

  /** Opens (creating, mode 0600) the partial file and hashes what it holds; content longer than `maxSize` is dropped. */
  static async open(path: string, maxSize: number): Promise<PartialFile> {
    const handle = await open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      const { size } = await handle.stat();
      const keep = size > maxSize ? 0 : size;
      const file = new PartialFile(path, handle, await Sha256Stream.open(path, keep), keep);
      if (keep < size) await file.reset();
      return file;
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** Bytes on the file (once every append has settled, all of them hashed). */
  get length(): number {
    return this.bytes;
  }

  /** Hex sha256 of the bytes appended so far (the running hash stays usable). */
  digest(): Promise<string> {
    return this.hash.digest();
  }

  /**
   * Hashes and writes `chunks` after everything appended before; resolves once both are done
   * (the bytes are in the page cache: only `sync()` makes them durable). Rejects, non-retryable
   * and discarding the partial file, if the file would grow past `limit`. The chunks must stay
   * unchanged until the promise settles. A failed write or hash ends this PartialFile: every
   * later call fails too (reopen to resume).
   */
  async append(chunks: Buffer[], limit = Number.POSITIVE_INFINITY): Promise<void> {
    let n = 0;
    for (const c of chunks) n += c.length;
    if (this.accepted + n > limit) {
      throw new TransferError(`source sent more bytes than expected (${limit})`, false, { discardPartial: true });
    }
    const at = this.accepted;
    this.accepted += n;
    const hashed = this.hash.update(chunks).catch((e: unknown) => {
      this.broken ??= new LocalWriteError(e);
      throw this.broken;
    });
    await Promise.all([hashed, this.enqueue((done) => ({ kind: 'write', at, chunks, done }))]);
  }

  /** Empties the file and the hash: the next byte appended is byte 0 (ordered after earlier appends). */
  async reset(): Promise<void> {
    this.accepted = 0;
    await Promise.all([this.hash.reset(), this.enqueue((done) => ({ kind: 'truncate', done }))]);
  }

  /** Flushes written bytes to stable storage (after every queued write). */
  async sync(): Promise<void> {
    await this.enqueue((done) => ({ kind: 'write', at: this.accepted, chunks: [], done }));
    await this.handle.sync();
  }

  async close(): Promise<void> {
    await this.enqueue((done) => ({ kind: 'write', at: this.accepted, chunks: [], done })).catch(() => undefined);
    await this.hash.close();
    await this.handle.close();
  }

  private enqueue(make: (done: Settle) => Op): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.broken) return reject(this.broken);
      this.queue.push(make({ resolve, reject }));
      void this.drain();
    });
  }

  /** Runs queued operations in order, each batch of consecutive writes as one `pwritev`. */
  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const first = this.queue[0]!;
        if (first.kind === 'truncate') {
          this.queue.shift();
          await this.run([first], async () => {
            await this.handle.truncate(0);
            this.bytes = 0;
          });
          continue;
        }
        let end = 1;
        while (end < this.queue.length && this.queue[end]!.kind === 'write') end++;
        const batch = this.queue.splice(0, end) as Extract<Op, { kind: 'write' }>[];
        await this.run(batch, () => this.writeAll(first.at, batch.flatMap((op) => op.chunks)));
      }
    } finally {
      this.writing = false;
    }
  }

  private async run(ops: readonly Op[], work: () => Promise<void>): Promise<void> {
    if (this.broken) {
      for (const op of ops) op.done.reject(this.broken);
      return;
    }
    try {
      await work();
      for (const op of ops) op.done.resolve();
    } catch (e) {
      this.broken = new LocalWriteError(e);
      for (const op of [...ops, ...this.queue.splice(0)]) op.done.reject(this.broken);
    }
  }

  private async writeAll(at: number, chunks: Buffer[]): Promise<void> {
    let pending = chunks;
    let position = at;
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending, position);
      position += bytesWritten;
      this.bytes = position;
      pending = dropBytes(pending, bytesWritten);
    }
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = count;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    rest.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return rest;
}
