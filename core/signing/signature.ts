/**
 * The signing format of plans, offline bundles and results files (DESIGN §5):
 * an ed25519 signature, base64, over the RFC 8785 (JCS) canonical form of the
 * document without its `signature` and `nextSignature` fields (the second is the new key's
 * signature during a controller key rotation). Keys are passed in (PEM); core/ reads none.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';

export interface Signable {
  readonly signature?: string;
}

export type VerifyResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** The exact bytes a signature covers: JCS of the document minus `signature` and `nextSignature`. */
export function signedBytes(doc: object): Buffer {
  const { signature: _ignored, nextSignature: _next, ...rest } = doc as Record<string, unknown>;
  const text = canonicalize(rest);
  if (text === undefined) throw new TypeError('document cannot be canonicalized');
  return Buffer.from(text, 'utf8');
}

/** Returns a copy of `doc` with `signature` set, signed by the PEM private key. */
export function signDocument<T extends object>(doc: T, privateKeyPem: string | KeyObject): T & { signature: string } {
  const key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  const signature = sign(null, signedBytes(doc), key).toString('base64');
  return { ...doc, signature };
}

/** Checks `doc.signature` against the PEM public key; never throws on bad input. */
export function verifyDocument(doc: object, publicKeyPem: string | KeyObject): VerifyResult {
  const { signature } = doc as Signable;
  if (typeof signature !== 'string' || signature.length === 0) return { ok: false, reason: 'not signed' };
  let key: KeyObject;
  try {
    key = typeof publicKeyPem === 'string' ? createPublicKey(publicKeyPem) : publicKeyPem;
  } catch {
    return { ok: false, reason: 'the pinned controller key is not a valid public key' };
  }
  let bytes: Buffer;
  try {
    bytes = signedBytes(doc);
  } catch {
    return { ok: false, reason: 'document cannot be canonicalized' };
  }
  const good = verify(null, bytes, key, Buffer.from(signature, 'base64'));
  return good ? { ok: true } : { ok: false, reason: 'signature does not match the pinned controller key' };
}
