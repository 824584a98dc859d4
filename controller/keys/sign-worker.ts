/**
 * A signing thread (started by signing-pool.ts; never imported for its values): ed25519
 * signatures over the texts it is sent, with the key it was started with.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * Texts to sign, as UTF-8 bytes one after the other in `bytes` (transferred, not copied): text i
 * ends at `ends[i]` and starts where text i - 1 ends.
 */
export interface SignRequest {
  readonly id: number;
  readonly bytes: ArrayBuffer;
  readonly ends: Uint32Array;
}

/** Base64 signatures, one per text in order, or why none could be made. */
export type SignReply = { readonly id: number; readonly signatures: readonly string[] } | { readonly id: number; readonly error: string };

const key = createPrivateKey((workerData as { privateKeyPem: string }).privateKeyPem);

parentPort!.on('message', ({ id, bytes, ends }: SignRequest) => {
  let reply: SignReply;
  try {
    const all = Buffer.from(bytes);
    const signatures: string[] = [];
    let start = 0;
    for (const end of ends) {
      signatures.push(sign(null, all.subarray(start, end), key).toString('base64'));
      start = end;
    }
    reply = { id, signatures };
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
