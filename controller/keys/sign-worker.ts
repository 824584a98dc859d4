/**
 * A signing thread (started by signing-pool.ts; never imported for its values): ed25519
 * signatures over the texts it is sent, with the key it was started with.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

/** Texts to sign, as UTF-8. */
export interface SignRequest {
  readonly id: number;
  readonly texts: readonly string[];
}

/** Base64 signatures, one per text in order, or why none could be made. */
export type SignReply = { readonly id: number; readonly signatures: readonly string[] } | { readonly id: number; readonly error: string };

const key = createPrivateKey((workerData as { privateKeyPem: string }).privateKeyPem);

parentPort!.on('message', (request: SignRequest) => {
  let reply: SignReply;
  try {
    reply = { id: request.id, signatures: request.texts.map((t) => sign(null, Buffer.from(t, 'utf8'), key).toString('base64')) };
  } catch (err) {
    reply = { id: request.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
