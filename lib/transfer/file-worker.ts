/**
 * The thread that hashes and writes partial files, so the thread reading the socket does neither.
 * On a fast link the agent has three jobs per byte — receive, sha256, write — and done on one
 * thread they held a download to about 0.7 of curl (`npm run bench -- download`). One worker per
 * process serves every download: for each batch of bytes it updates the file's sha256, then
 * writes them. Writing from this one thread, not libuv's pool, also matters here: spread over the
 * pool's four threads the same writes cost from 0.25 to 1.9 CPU-seconds per GiB from run to run;
 * from one thread, 0.2–0.3. Bytes that live in a SharedArrayBuffer (the socket's read slabs)
 * reach the worker without a copy; others are copied once. Each file sends one batch of
 * operations at a time, so many small pieces travel in few messages.
 */
import { Worker } from 'node:worker_threads';

/** The worker, in CommonJS so the same text runs from the sources (tests) and the build. */
const workerSource = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const files = new Map();
function open(path, maxSize) {
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
      if (n === 0) throw new Error(path + ' shrank while it was read');
      hash.update(buf.subarray(0, n));
      at += n;
    }
    return { fd, hash, length };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}
function apply(id, op) {
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
  if (file.broken) throw new Error(file.broken);
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
    throw new Error('unknown operation ' + op.op);
  } catch (e) {
    // The hash may be ahead of the file now: nothing more may be done with it.
    file.broken = String((e && e.message) || e);
    throw e;
  }
}
parentPort.on('message', ({ id, batch }) => {
  const results = batch.map((op) => {
    try {
      return { ok: true, ...apply(id, op) };
    } catch (e) {
      return { ok: false, error: String((e && e.message) || e) };
    }
  });
  parentPort.postMessage({ id, results });
});
`;

export type FileOp =
  | { readonly op: 'open'; readonly path: string; readonly maxSize: number }
  | { readonly op: 'append'; readonly chunks: Uint8Array[] }
  | { readonly op: 'reset' | 'sync' | 'digest' | 'close' };
export interface FileResult {
  /** The file's length after the operation. */
  readonly length: number;
  readonly digest?: string;
}
interface Reply {
  readonly id: number;
  readonly results: readonly ({ ok: true } & FileResult | { ok: false; error: string })[];
}
interface Pending {
  readonly op: FileOp;
  readonly transfer: ArrayBuffer[];
  readonly resolve: (r: FileResult) => void;
  readonly reject: (e: Error) => void;
}

/** The process's worker, started on first use and not keeping the process alive when idle. */
class FileWorker {
  private worker: Worker | undefined;
  private readonly channels = new Map<number, FileChannel>();
  private busy = 0;
  private nextId = 1;

  register(channel: FileChannel): number {
    const id = this.nextId++;
    this.channels.set(id, channel);
    return id;
  }

  unregister(id: number): void {
    this.channels.delete(id);
  }

  post(id: number, batch: FileOp[], transfer: ArrayBuffer[]): void {
    if (!this.worker) {
      const worker = new Worker(workerSource, { eval: true });
      worker.on('message', (reply: Reply) => {
        if (--this.busy === 0) worker.unref();
        this.channels.get(reply.id)?.settle(reply.results);
      });
      worker.on('error', (e) => this.lost(worker, e));
      worker.on('exit', (code) => this.lost(worker, new Error(`the file worker exited with code ${code}`)));
      worker.unref();
      this.worker = worker;
    }
    if (this.busy++ === 0) this.worker.ref();
    this.worker.postMessage({ id, batch }, transfer);
  }

  /** The worker died: what every file had under way fails, and the next use starts a new worker. */
  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.busy = 0;
    for (const channel of this.channels.values()) channel.fail(error);
  }
}

const shared = new FileWorker();

/** One file's operations on the worker, applied in the order they are requested. */
export class FileChannel {
  private readonly id = shared.register(this);
  private queue: Pending[] = [];
  private inFlight: Pending[] | undefined;

  /** Runs `op` after everything requested before; appended chunks must stay unchanged until it settles. */
  request(op: FileOp): Promise<FileResult> {
    const transfer: ArrayBuffer[] = [];
    if (op.op === 'append') {
      op = {
        op: 'append',
        chunks: op.chunks.map((c) => {
          if (c.buffer instanceof SharedArrayBuffer) return c;
          const copy = new Uint8Array(c);
          transfer.push(copy.buffer);
          return copy;
        }),
      };
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ op, transfer, resolve, reject });
      this.send();
    });
  }

  /** Forgets this channel (after its `close`). */
  dispose(): void {
    shared.unregister(this.id);
  }

  private send(): void {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = this.queue;
    this.queue = [];
    shared.post(
      this.id,
      this.inFlight.map((p) => p.op),
      this.inFlight.flatMap((p) => p.transfer),
    );
  }

  /** @internal The worker's answers to the batch under way. */
  settle(results: Reply['results']): void {
    const batch = this.inFlight ?? [];
    this.inFlight = undefined;
    batch.forEach((p, i) => {
      const r = results[i];
      if (r?.ok) p.resolve(r);
      else p.reject(new Error(r?.error ?? 'no answer from the file worker'));
    });
    this.send();
  }

  /** @internal The worker is gone: what was under way or queued fails. */
  fail(error: Error): void {
    const batch = [...(this.inFlight ?? []), ...this.queue];
    this.inFlight = undefined;
    this.queue = [];
    for (const p of batch) p.reject(error);
  }
}
