/**
 * The per-bundle, per-host results key: HMAC-SHA256(controller secret, bundle id, host), where
 * the controller secret is itself an HMAC of the signing key's PKCS8 DER (no second secret to
 * keep). The controller derives it again at import; only it and the bundle's holder know it.
 */
import { createHmac, createPrivateKey } from 'node:crypto';

/** Base64 results key of `host` in bundle `bundleId`. */
export function deriveResultsKey(privateKeyPem: string, bundleId: string, host: string): string {
  const der = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const secret = createHmac('sha256', der).update('ferry results key v1').digest();
  return createHmac('sha256', secret).update(`${bundleId}\0${host}`).digest('base64');
}
