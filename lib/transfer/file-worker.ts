/**
 * The file worker's thread (started by file-channel.ts; never imported for its values): keeps the
 * open partial files, and for each batch of operations from one file updates that file's sha256
 * and writes the bytes, in order, then answers with one reply for the batch.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';

/** One operation on one file. Appended chunks arrive as views of shared slabs or as transferred copies. */
export type FileOp =
  | { readonly op: 'open'; readonly path: string; readonly maxSize: number }
  | { readonly op: 'append'; readonly chunks: readonly Uint8Array[] }
  | { readonly op: 'reset' | 'sync' | 'digest' | 'close' };

export interface FileResult {
  /** The file's length after the operation. */
  readonly length: number;
  readonly digest?: string;
}

export type OpResult = ({ readonly ok: true } & FileResult) | { readonly ok: false; readonly error: string };

/** A batch of operations on the file `id`. */
export interface FileRequest {
  readonly id: number;
  readonly batch: readonly FileOp[];
}

/** The results of one FileRequest, one per operation, in order. */
export interface FileReply {
  readonly id: number;
  readonly results: readonly OpResult[];
}

interface OpenFile {
  readonly fd: number;
  hash: Hash;
  length: number;
  /** Set once an operation failed midway: the hash may be ahead of the file. */
  broken?: string;
}

const port = parentPort;
if (port === null) throw new Error('file-worker.ts runs only as a worker thread (see file-channel.ts)');
const files = new Map<number, OpenFile>();

/** Opens (creating, mode 0600) and hashes what the file holds; content longer than `maxSize` is dropped. */
function open(path: string, maxSize: number): OpenFile {
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    const hash = createHash('sha256');
    let length = fs.fstatSync(fd).size;
    if (length > maxSize) {
      fs.ftruncateSync(fd, 0);
      length = 0;
    }
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let at = 0; at < length; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - at), at);
      if (n === 0) throw new Error(`${path} shrank while it was read`);
      hash.update(buf.subarray(0, n));
      at += n;
    }
    return { fd, hash, length };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function apply(id: number, op: FileOp): FileResult {
  if (op.op === 'open') {
    const file = open(op.path, op.maxSize);
    files.set(id, file);
    return { length: file.length };
  }
  const file = files.get(id);
  if (!file) throw new Error('no open file');
  if (op.op === 'close') {
    files.delete(id);
    fs.closeSync(file.fd);
    return { length: file.length };
  }
  if (file.broken !== undefined) throw new Error(file.broken);
  try {
    switch (op.op) {
      case 'append':
        for (const c of op.chunks) {
          file.hash.update(c);
          for (let done = 0; done < c.length; ) {
            const n = fs.writeSync(file.fd, c, done, c.length - done, file.length);
            done += n;
            file.length += n;
          }
        }
        return { length: file.length };
      case 'reset':
        fs.ftruncateSync(file.fd, 0);
        file.hash = createHash('sha256');
        file.length = 0;
        return { length: 0 };
      case 'sync':
        fs.fsyncSync(file.fd);
        return { length: file.length };
      case 'digest':
        return { length: file.length, digest: file.hash.copy().digest('hex') };
    }
  } catch (e) {
    // The hash may be ahead of the file now: nothing more may be done with it.
    file.broken = errorText(e);
    throw e;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

port.on('message', ({ id, batch }: FileRequest) => {
  const results = batch.map((op): OpResult => {
    try {
      return { ok: true, ...apply(id, op) };
    } catch (e) {
      return { ok: false, error: errorText(e) };
    }
  });
  port.postMessage({ id, results } satisfies FileReply);
});
