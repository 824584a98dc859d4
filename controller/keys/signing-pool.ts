/**
 * Signs texts on worker threads (sign-worker.ts), one per core: ed25519 costs about 40–70 µs a
 * signature, so a first reconcile of 100,000 plans would hold one thread for seconds. The texts
 * asked for within one turn of the event loop travel together, split over the workers: each
 * worker's share is written as UTF-8 into one buffer that is transferred, not cloned (a text is
 * given in parts, written one after the other, so it is never joined into one string here).
 * Workers start on first use and do not keep the process alive while idle; a worker that dies
 * fails what it had under way, and the next call starts a new one.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../lib/module-worker.js';
import type { SignReply, SignRequest } from './sign-worker.js';

/** Below this many texts a call signs on the calling thread: a round trip would cost more. */
const inlineBelow = 32;

interface Slot {
  worker: Worker | undefined;
  readonly pending: Map<number, { resolve: (s: readonly string[]) => void; reject: (e: Error) => void }>;
}

export class SigningPool {
  private readonly slots: Slot[];
  private readonly key;
  private nextId = 1;
  private closed = false;
  private queue: { readonly parts: readonly string[]; readonly resolve: (s: string) => void; readonly reject: (e: Error) => void }[] = [];

  /** `size` workers (default: one per core) signing with the PKCS8 PEM ed25519 key. */
  constructor(
    private readonly privateKeyPem: string,
    size = availableParallelism(),
  ) {
    this.key = createPrivateKey(privateKeyPem);
    this.slots = Array.from({ length: Math.max(1, size) }, () => ({ worker: undefined, pending: new Map() }));
  }

  /** The base64 ed25519 signature of `text` (as UTF-8), or of the concatenation of its parts. */
  sign(text: string | readonly string[]): Promise<string> {
    const parts = typeof text === 'string' ? [text] : text;
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ parts, resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.signAll(batch.map((b) => b.parts)).then(
      (signatures) => batch.forEach((b, i) => b.resolve(signatures[i]!)),
      (err: Error) => {
        for (const b of batch) b.reject(err);
      },
    );
  }

  /** The base64 ed25519 signature of each text (given in parts), in order. */
  private async signAll(texts: readonly (readonly string[])[]): Promise<readonly string[]> {
    if (texts.length < inlineBelow || this.closed) return texts.map((t) => sign(null, Buffer.from(t.join(''), 'utf8'), this.key).toString('base64'));
    const per = Math.ceil(texts.length / this.slots.length);
    const parts = await Promise.all(this.slots.map((slot, i) => this.send(slot, texts.slice(i * per, (i + 1) * per))));
    return parts.flat();
  }

  /** Stops the workers; later calls sign on the calling thread. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
  }

  private send(slot: Slot, texts: readonly (readonly string[])[]): Promise<readonly string[]> {
    if (texts.length === 0) return Promise.resolve([]);
    const worker = slot.worker ?? this.start(slot);
    const id = this.nextId++;
    let size = 0;
    for (const parts of texts) for (const p of parts) size += Buffer.byteLength(p, 'utf8');
    const bytes = Buffer.allocUnsafeSlow(size);
    const ends = new Uint32Array(texts.length);
    let at = 0;
    for (const [i, parts] of texts.entries()) {
      for (const p of parts) at += bytes.write(p, at, 'utf8');
      ends[i] = at;
    }
    if (slot.pending.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      worker.postMessage({ id, bytes: bytes.buffer, ends } satisfies SignRequest, [bytes.buffer]);
    });
  }

  private start(slot: Slot): Worker {
    const worker = startModuleWorker(import.meta.url, './sign-worker', { workerData: { privateKeyPem: this.privateKeyPem } });
    const lost = (error: Error) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      for (const p of slot.pending.values()) p.reject(error);
      slot.pending.clear();
    };
    worker.on('message', (reply: SignReply) => {
      const p = slot.pending.get(reply.id);
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) worker.unref();
      if ('error' in reply) p?.reject(new Error(`signing failed: ${reply.error}`));
      else p?.resolve(reply.signatures);
    });
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`a signing worker exited with code ${code}`)));
    worker.unref();
    slot.worker = worker;
    return worker;
  }
}
