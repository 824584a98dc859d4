/**
 * Partial files are hashed and written on a worker thread (file-worker.ts), so the thread reading
 * the socket does neither; this is the reading thread's side of it.
 * On a fast link the agent has three jobs per byte — receive, sha256, write — and done on one
 * thread they held a download to about 0.7 of curl (`npm run bench -- download`). One worker per
 * process serves every download: for each batch of bytes it updates the file's sha256, then
 * writes them. Writing from this one thread, not libuv's pool, also matters here: spread over the
 * pool's four threads the same writes cost from 0.25 to 1.9 CPU-seconds per GiB from run to run;
 * from one thread, 0.2–0.3. Bytes that live in a SharedArrayBuffer (the socket's read slabs)
 * reach the worker without a copy; others are copied once. Each file sends one batch of
 * operations at a time, so many small pieces travel in few messages.
 */
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../module-worker.js';
import type { FileOp, FileReply, FileRequest, FileResult } from './file-worker.js';

export type { FileOp, FileResult } from './file-worker.js';

/** Starts the worker thread on file-worker (see lib/module-worker.ts for how, built or from source). */
function startWorker(): Worker {
  return startModuleWorker(import.meta.url, './file-worker');
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
      const worker = startWorker();
      worker.on('message', (reply: FileReply) => {
        if (--this.busy === 0) worker.unref();
        this.channels.get(reply.id)?.settle(reply.results);
      });
      worker.on('error', (e) => this.lost(worker, e));
      worker.on('exit', (code) => this.lost(worker, new Error(`the file worker exited with code ${code}`)));
      worker.unref();
      this.worker = worker;
    }
    if (this.busy++ === 0) this.worker.ref();
    this.worker.postMessage({ id, batch } satisfies FileRequest, transfer);
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
  settle(results: FileReply['results']): void {
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
