/** GitHub-style push webhook signatures: `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>`. */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** True when `header` is the HMAC-SHA256 of `body` under `secret`; compared in constant time. */
export function verifyHubSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (typeof header !== 'string') return false;
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, 'hex'));
}

/** The header value a sender computes (tests, `curl` examples). */
export function hubSignature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
