/**
 * Who is calling (DESIGN §4, §5): the admin (the admin token) or one host (the
 * credential it was issued at enrollment). Secrets are compared in constant time;
 * host credentials are stored only as their sha256 and looked up by it.
 */
import * as crypto from 'node:crypto';
import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from './errors.js';

/** `relay`: a relay's own host credential acting for a host the relay serves (`host` is the relay's host). */
export type Caller = { readonly kind: 'admin' } | { readonly kind: 'host'; readonly host: string } | { readonly kind: 'relay'; readonly host: string };

/** The hex sha256 of a string; how host credentials are stored. */
export const sha256Hex: (text: string) => string =
  // One-shot `crypto.hash` (Node ≥ 20.12) costs a third of a Hash object; this runs on every plan poll.
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : (text) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Compares two secrets in time independent of where they differ (and of their lengths). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** Random bytes drawn from the CSPRNG a block at a time; each credential takes its own 32, never reused. */
const CREDENTIAL_BYTES = 32;
const pool = Buffer.alloc(CREDENTIAL_BYTES * 256);
let poolOffset = pool.length;

/** A new host credential: 32 random bytes, base64url. Returned once, stored as its sha256. */
export function newCredential(): string {
  // One CSPRNG call per 256 credentials: a fleet enrolling spent more on the call than on the bytes.
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const credential = pool.toString('base64url', poolOffset, poolOffset + CREDENTIAL_BYTES);
  pool.fill(0, poolOffset, poolOffset + CREDENTIAL_BYTES);
  poolOffset += CREDENTIAL_BYTES;
  return credential;
}

/** The bearer token of a request, if it sent one. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  return bearerOf(headers.authorization);
}

/** The token of an `Authorization: Bearer <token>` value, if it is one. */
export function bearerOf(authorization: string | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  return /^Bearer[ \t]+([!-~]{1,512})[ \t]*$/i.exec(authorization)?.[1];
}

export const unauthenticated = (): ApiError =>
  new ApiError(401, 'unauthenticated', 'send `Authorization: Bearer <token>` with a valid admin token or host credential', undefined, {
    'WWW-Authenticate': 'Bearer realm="ferry"',
  });

export const adminOnly = (): ApiError =>
  new ApiError(401, 'admin-token-required', 'this endpoint needs the admin token (DATA/admin.token of the controller)', undefined, {
    'WWW-Authenticate': 'Bearer realm="ferry"',
  });

/** Finds a host by the sha256 of its credential. */
export type CredentialLookup = (credentialHash: string) => Promise<{ host: string; credentialHash: string } | undefined>;

/** Identifies the caller, or undefined when the request carries no valid secret. */
export async function identify(headers: IncomingHttpHeaders, adminToken: string, lookup: CredentialLookup): Promise<Caller | undefined> {
  const token = bearerToken(headers);
  if (token === undefined) return undefined;
  if (safeEqual(token, adminToken)) return { kind: 'admin' };
  const hash = sha256Hex(token);
  const found = await lookup(hash);
  if (!found || found.credentialHash.length !== hash.length) return undefined;
  if (!timingSafeEqual(Buffer.from(found.credentialHash, 'utf8'), Buffer.from(hash, 'utf8'))) return undefined;
  return { kind: 'host', host: found.host };
}

/**
 * Whether `caller` may act for `host`. The admin may act for any host (e.g. importing
 * an offline host's results); a host only for itself.
 */
export function mayActFor(caller: Caller, host: string): boolean {
  return caller.kind === 'admin' || (caller.kind === 'host' && caller.host === host);
}

/** A relay's credential used for a host it does not serve (DESIGN §4: it covers only the hosts it serves). */
export const relayNotServing = (relayHost: string, host: string): ApiError =>
  new ApiError(
    403,
    'relay-not-serving',
    `the credential of ${relayHost} is a relay's, and that relay does not serve host ${host} (its Relay manifest's serves, or the Host manifest's relay, decide); a relay acts only for the hosts it serves`,
    { relay: relayHost, host },
  );
