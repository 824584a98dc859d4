/** Enrollment tokens: multi-use until they expire; only their sha256 is stored. */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { iso, sha256Hex } from './codec.js';
import type { Database } from './schema.js';
import type { CreatedToken, RevokeResult, TokenCheck, TokenRecord } from './store.js';

const idLength = 12;

export async function createToken(db: Kysely<Database>, ttlMs: number, now: Date): Promise<CreatedToken> {
  if (!(ttlMs > 0)) throw new RangeError(`token ttl must be positive, got ${ttlMs}`);
  const token = randomBytes(32).toString('base64url');
  const expiresAt = iso(new Date(now.getTime() + ttlMs));
  await db
    .insertInto('enrollment_tokens')
    .values({ token_hash: sha256Hex(token), created_at: iso(now), expires_at: expiresAt, uses: 0, last_used_at: null, revoked_at: null })
    .execute();
  return { token, id: sha256Hex(token).slice(0, idLength), expiresAt };
}

type TokenRow = { token_hash: string; created_at: string; expires_at: string; uses: number; last_used_at: string | null; revoked_at: string | null };

function tokenRecord(r: TokenRow): TokenRecord {
  return {
    id: r.token_hash.slice(0, idLength),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    uses: r.uses,
    ...(r.last_used_at !== null && { lastUsedAt: r.last_used_at }),
    ...(r.revoked_at !== null && { revokedAt: r.revoked_at }),
  };
}

export async function listTokens(db: Kysely<Database>): Promise<readonly TokenRecord[]> {
  const rows = await db.selectFrom('enrollment_tokens').selectAll().orderBy('created_at', 'desc').orderBy('token_hash').execute();
  return rows.map(tokenRecord);
}

export async function revokeToken(db: Kysely<Database>, idOrToken: string, now: Date): Promise<RevokeResult> {
  const prefix = /^[0-9a-f]{6,64}$/.test(idOrToken) ? idOrToken : undefined;
  const hash = sha256Hex(idOrToken);
  const at = iso(now);
  return db.transaction().execute(async (trx) => {
    let query = trx.selectFrom('enrollment_tokens').selectAll();
    query = prefix === undefined ? query.where('token_hash', '=', hash) : query.where((eb) => eb.or([eb('token_hash', '=', hash), eb('token_hash', 'like', `${prefix}%`)]));
    const found = await query.limit(2).execute();
    if (found.length === 0) return { error: 'unknown-token' as const };
    if (found.length > 1) return { error: 'ambiguous' as const };
    const row = found[0]!;
    const revoked = { revoked_at: row.revoked_at ?? at, expires_at: [row.expires_at, at].sort()[0]! }; // ISO times sort as text;
    await trx.updateTable('enrollment_tokens').set(revoked).where('token_hash', '=', row.token_hash).execute();
    return { token: tokenRecord({ ...row, ...revoked }) };
  });
}

export async function consumeToken(db: Kysely<Database>, token: string, now: Date): Promise<TokenCheck> {
  const hash = sha256Hex(token);
  const at = iso(now);
  const used = await db
    .updateTable('enrollment_tokens')
    .set((eb) => ({ uses: eb('uses', '+', 1), last_used_at: at }))
    .where('token_hash', '=', hash)
    .where('expires_at', '>', at)
    .returning(['expires_at', 'uses'])
    .executeTakeFirst();
  if (used) return { ok: true, expiresAt: used.expires_at, uses: used.uses };
  const known = await db.selectFrom('enrollment_tokens').select('token_hash').where('token_hash', '=', hash).executeTakeFirst();
  return { ok: false, error: known ? 'expired' : 'unknown-token' };
}

/**
 * Each distinct token checked and its uses raised by how often it appears, as that many
 * `consumeToken` calls at `now` would (tokens in sorted order, so concurrent batches lock alike).
 */
export async function consumeTokens(db: Kysely<Database>, tokens: readonly string[], now: Date): Promise<ReadonlyMap<string, TokenCheck>> {
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  const at = iso(now);
  const out = new Map<string, TokenCheck>();
  for (const token of [...counts.keys()].sort()) {
    const hash = sha256Hex(token);
    const used = await db
      .updateTable('enrollment_tokens')
      .set((eb) => ({ uses: eb('uses', '+', counts.get(token)!), last_used_at: at }))
      .where('token_hash', '=', hash)
      .where('expires_at', '>', at)
      .returning(['expires_at', 'uses'])
      .executeTakeFirst();
    if (used) {
      out.set(token, { ok: true, expiresAt: used.expires_at, uses: used.uses });
      continue;
    }
    const known = await db.selectFrom('enrollment_tokens').select('token_hash').where('token_hash', '=', hash).executeTakeFirst();
    out.set(token, { ok: false, error: known ? 'expired' : 'unknown-token' });
  }
  return out;
}
