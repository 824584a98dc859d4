/**
 * Controller key rotation (docs/security.md#rotating-the-controller-key): while a rotation is
 * under way every plan carries the new public key, a cross-signature by the old key over it (the
 * vouch), and a second signature by the new key. An agent pinned to the old key adopts the new
 * one only when its pinned key vouches for it; an agent already on the new key reads the second
 * signature. Pure: keys come in as PEM or KeyObjects.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { keyFingerprint } from './fingerprint.js';
import { signedBytes } from './signature.js';

/** Carried by plans during a rotation. */
export interface KeyTransition {
  /** SPKI PEM of the controller's next key. */
  readonly publicKey: string;
  /** base64 ed25519 signature by the current key over `vouchBytes(publicKey)`. */
  readonly vouch: string;
}

/** The bytes the old key signs to vouch for the new one: JCS of a typed statement naming its fingerprint. */
export function vouchBytes(nextPublicKey: string): Buffer {
  return signedBytes({ type: 'ferry-controller-key/v1', next: keyFingerprint(nextPublicKey) });
}

/** The old key's cross-signature over the next public key. */
export function vouchFor(nextPublicKey: string, currentPrivateKey: string | KeyObject): KeyTransition {
  const key = typeof currentPrivateKey === 'string' ? createPrivateKey(currentPrivateKey) : currentPrivateKey;
  return { publicKey: nextPublicKey, vouch: sign(null, vouchBytes(nextPublicKey), key).toString('base64') };
}

/** True when `pinned` vouched for the transition's key; never throws. */
export function vouchHolds(t: KeyTransition, pinned: string | KeyObject): boolean {
  try {
    const key = typeof pinned === 'string' ? createPublicKey(pinned) : pinned;
    return verify(null, vouchBytes(t.publicKey), key, Buffer.from(t.vouch, 'base64'));
  } catch {
    return false;
  }
}

/** Same key, whatever the PEM's line breaks; false for anything that is not a public key. */
export function sameKey(a: string, b: string): boolean {
  try {
    return keyFingerprint(a) === keyFingerprint(b);
  } catch {
    return false;
  }
}
