/** The controller key's fingerprint as `ssh-keygen -l` prints one: `SHA256:` + unpadded base64 of the sha256 of the SPKI DER. */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/** Fingerprint of a public key (SPKI PEM or a KeyObject); throws on a PEM that is not a public key. */
export function keyFingerprint(publicKey: string | KeyObject): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const der = key.export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}

/** True when `given` names the same fingerprint (the `SHA256:` prefix optional, its case ignored). */
export function sameFingerprint(given: string, fingerprint: string): boolean {
  const strip = (f: string) =>
    f
      .trim()
      .replace(/^sha256:/i, '')
      .replace(/=+$/, '');
  return strip(given) === strip(fingerprint) && strip(given).length > 0;
}
