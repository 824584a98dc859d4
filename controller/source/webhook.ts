import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Checks a GitHub-style push webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
 * False for a missing, malformed or wrong header, or an empty secret; compares in constant time.
 */
export function verifyWebhookSignature(secret: string | Uint8Array, rawBody: string | Uint8Array, header: string | readonly string[] | undefined): boolean {
  if (secret.length === 0 || typeof header !== 'string') return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return false;
  const given = Buffer.from(match[1]!, 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The header value a sender computes (for tests and tools). */
export function signWebhookBody(secret: string | Uint8Array, rawBody: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}
