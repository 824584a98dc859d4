/**
 * The partial file `dest + '.part'`: the truth about how far a download got, across crashes.
 * It keeps an incremental sha256 of exactly the bytes written to it, so a resumed download
 * hashes the existing bytes once and then only what it appends.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { LocalWriteError, TransferError } from './errors.js';

/** Written bytes after which a background flush starts (see `appender`). */
const WRITEBACK_BYTES = 64 << 20;

export class PartialFile {
  private hash: Hash = createHash('sha256');
  private inflight: Promise<unknown> = Promise.resolve();
  /** A background `fdatasync` under way, the length it was started at, and the first one that failed. */
  private flushing: Promise<void> | undefined;
  private flushedAt = 0;
  private flushError: unknown;
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private bytes: number,
  ) {}

  /** Opens (creating, mode 0600) the partial file and hashes what it holds; content longer than `maxSize` is dropped. */
  static async open(path: string, maxSize: number): Promise<PartialFile> {
    const handle = await open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    const { size } = await handle.stat();
    const file = new PartialFile(path, handle, 0);
    if (size > maxSize) {
      await file.reset();
      return file;
    }
    if (size === 0) return file;
    await new Promise<void>((resolve, reject) => {
      createReadStream(path, { start: 0, end: size - 1, highWaterMark: 1 << 20 })
        .on('data', (chunk) => {
          file.hash.update(chunk as Buffer);
          file.bytes += (chunk as Buffer).length;
        })
        .on('error', reject)
        .on('end', resolve);
    }).catch(async (e) => {
      await handle.close();
      throw e;
    });
    return file;
  }

  /** Bytes on disk, all of them hashed. */
  get length(): number {
    return this.bytes;
  }

  /** Hex sha256 of the bytes so far (the running hash stays usable). */
  digest(): string {
    return this.hash.copy().digest('hex');
  }

  /** Empties the file and the hash: the next byte written is byte 0. */
  async reset(): Promise<void> {
    await this.handle.truncate(0);
    this.hash = createHash('sha256');
    this.bytes = 0;
    this.flushedAt = 0;
  }

  /** Resolves once no write is under way (after an appender failed or was destroyed). */
  async settle(): Promise<void> {
    await this.inflight;
  }

  /** Flushes written bytes to stable storage; fails if any background flush failed. */
  async sync(): Promise<void> {
    await this.flushing;
    // Linux reports a failed writeback once: a background flush's error must not be lost.
    if (this.flushError !== undefined) throw this.flushError;
    await this.handle.sync();
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.handle.close();
  }

  /**
   * A stream that appends to the file, failing (non-retryable) if the file would grow past `limit`;
   * `onWritten(length)` runs after each write reaches the file.
   * Bytes are hashed as they are handed to the file system, so a write error leaves the hash
   * ahead of the file: treat any write error as the end of this PartialFile (reopen to resume).
   *
   * Throughput: each batch is written by libuv's pool while this thread hashes the same
   * (read-only) buffers, and every `WRITEBACK_BYTES` a background `fdatasync` starts, so the
   * disk writes back during the transfer and the final `sync()` has only the tail left. That is
   * a head start, not a durability point: only `sync()` promises anything.
   */
  appender(onWritten: (length: number) => void, limit = Number.POSITIVE_INFINITY): Writable {
    let accepted = this.bytes;
    const writeAll = async (buffers: Buffer[]) => {
      for (const b of buffers) accepted += b.length;
      if (accepted > limit) throw new TransferError(`source sent more bytes than expected (${limit})`, false, { discardPartial: true });
      let pending = buffers;
      let written = this.handle.writev(pending, this.bytes);
      for (const b of buffers) this.hash.update(b);
      for (;;) {
        const { bytesWritten } = await written;
        this.bytes += bytesWritten;
        pending = dropBytes(pending, bytesWritten);
        if (pending.length === 0) break;
        written = this.handle.writev(pending, this.bytes);
      }
      this.startWriteback();
      onWritten(this.bytes);
    };
    return new Writable({
      highWaterMark: 4 << 20,
      writev: (chunks, callback) => {
        const write = writeAll(chunks.map((c) => c.chunk as Buffer));
        this.inflight = write.catch(() => undefined);
        write.then(
          () => callback(),
          (e: unknown) => callback(e instanceof TransferError ? e : new LocalWriteError(e)),
        );
      },
      destroy: (error, callback) => {
        void this.inflight.then(() => callback(error));
      },
    });
  }

  /** Starts a background flush once `WRITEBACK_BYTES` were written since the last one (one at a time). */
  private startWriteback(): void {
    if (this.flushing !== undefined || this.bytes - this.flushedAt < WRITEBACK_BYTES) return;
    this.flushedAt = this.bytes;
    this.flushing = this.handle.datasync().then(
      () => {
        this.flushing = undefined;
      },
      (e: unknown) => {
        this.flushError ??= e;
        this.flushing = undefined;
      },
    );
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
