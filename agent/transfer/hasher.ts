/**
 * sha256 off the thread that reads the socket. On a fast link the agent has three jobs per byte
 * — receive it, hash it, write it — and sha256 is the biggest; done inline it held the download
 * to about 0.7 of curl (`npm run bench -- download`). One worker thread per process hashes for
 * every download. Bytes that live in a SharedArrayBuffer (the socket's read slabs) reach it
 * without a copy; others are copied once. Each stream sends one batch at a time, so a fast
 * sender's many small pieces (TLS records) travel in few messages.
 */
import { Worker } from 'node:worker_threads';

/** The worker, in CommonJS so the same text runs from the sources (tests) and the build. */
const workerSource = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const hashes = new Map();
function hashFile(hash, path, length) {
  const fd = fs.openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let at = 0; at < length; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - at), at);
      if (n === 0) throw new Error(path + ' is shorter than ' + length + ' bytes');
      hash.update(buf.subarray(0, n));
      at += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}
parentPort.on('message', ({ id, batch }) => {
  const results = [];
  for (const op of batch) {
    try {
      if (op.op === 'open') {
        const hash = createHash('sha256');
        if (op.path) hashFile(hash, op.path, op.length);
        hashes.set(id, hash);
        results.push({ ok: true });
      } else if (op.op === 'update') {
        const hash = hashes.get(id);
        for (const c of op.chunks) hash.update(c);
        results.push({ ok: true });
      } else if (op.op === 'reset') {
        hashes.set(id, createHash('sha256'));
        results.push({ ok: true });
      } else if (op.op === 'digest') {
        results.push({ ok: true, value: hashes.get(id).copy().digest('hex') });
      } else {
        hashes.delete(id);
        results.push({ ok: true });
      }
    } catch (e) {
      results.push({ ok: false, error: String(e && e.message || e) });
    }
  }
  parentPort.postMessage({ id, results });
});
`;

type Op =
  | { readonly op: 'open'; readonly path?: string; readonly length?: number }
  | { readonly op: 'update'; readonly chunks: Uint8Array[] }
  | { readonly op: 'reset' | 'digest' | 'close' };
interface Pending {
  readonly op: Op;
  readonly transfer: ArrayBuffer[];
  readonly resolve: (value: string | undefined) => void;
  readonly reject: (e: Error) => void;
}
interface Reply {
  readonly id: number;
  readonly results: readonly { ok: boolean; value?: string; error?: string }[];
}

/** The process's hash worker, started on first use and not keeping the process alive when idle. */
class HashWorker {
  private worker: Worker | undefined;
  private readonly streams = new Map<number, Sha256Stream>();
  private busy = 0;
  private nextId = 1;

  register(stream: Sha256Stream): number {
    const id = this.nextId++;
    this.streams.set(id, stream);
    return id;
  }

  unregister(id: number): void {
    this.streams.delete(id);
  }

  post(id: number, batch: Op[], transfer: ArrayBuffer[]): void {
    if (!this.worker) {
      const worker = new Worker(workerSource, { eval: true });
      worker.on('message', (reply: Reply) => {
        if (--this.busy === 0) worker.unref();
        this.streams.get(reply.id)?.settle(reply.results);
      });
      worker.on('error', (e) => this.lost(worker, e));
      worker.on('exit', (code) => this.lost(worker, new Error(`the hash worker exited with code ${code}`)));
      worker.unref();
      this.worker = worker;
    }
    if (this.busy++ === 0) this.worker.ref();
    this.worker.postMessage({ id, batch }, transfer);
  }

  /** The worker died: every stream's batch under way fails, and the next use starts a new worker. */
  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.busy = 0;
    for (const stream of this.streams.values()) stream.fail(error);
  }
}

const shared = new HashWorker();

/** One running sha256, computed by the hash worker; operations apply in the order they are called. */
export class Sha256Stream {
  private readonly id: number;
  private queue: Pending[] = [];
  private inFlight: Pending[] | undefined;

  /** A stream that has hashed the first `length` bytes of the file at `path` (0: nothing). */
  static async open(path: string, length: number): Promise<Sha256Stream> {
    const stream = new Sha256Stream();
    await stream.push(length > 0 ? { op: 'open', path, length } : { op: 'open' });
    return stream;
  }

  private constructor() {
    this.id = shared.register(this);
  }

  /** Hashes the chunks next; resolves once the worker has read them (their memory may be reused then). */
  async update(chunks: readonly Uint8Array[]): Promise<void> {
    const transfer: ArrayBuffer[] = [];
    const sendable = chunks.map((c) => {
      if (c.buffer instanceof SharedArrayBuffer) return c;
      const copy = new Uint8Array(c);
      transfer.push(copy.buffer);
      return copy;
    });
    await this.push({ op: 'update', chunks: sendable }, transfer);
  }

  /** Starts again from no bytes. */
  async reset(): Promise<void> {
    await this.push({ op: 'reset' });
  }

  /** Hex sha256 of everything so far (the stream goes on). */
  async digest(): Promise<string> {
    return (await this.push({ op: 'digest' }))!;
  }

  /** Frees the worker's state; the stream is unusable afterwards. */
  async close(): Promise<void> {
    await this.push({ op: 'close' }).catch(() => undefined);
    shared.unregister(this.id);
  }

  private push(op: Op, transfer: ArrayBuffer[] = []): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ op, transfer, resolve, reject });
      this.send();
    });
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
      if (r?.ok) p.resolve(r.value);
      else p.reject(new Error(`sha256: ${r?.error ?? 'no answer'}`));
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
