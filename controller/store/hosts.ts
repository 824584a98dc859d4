/** Enrolled hosts and their credential hashes. */
import type { Kysely, Selectable } from 'kysely';
import { fromJson, iso, toCount, toJson } from './codec.js';
import type { Database, HostTable } from './schema.js';
import { consumeTokens } from './tokens.js';
import type { EnrollAttempt, EnrollAttemptResult, EnrollRequest, EnrollResult, HostCredential, HostEnrollment, HostPage, HostRecord, ResetResult } from './store.js';

function toRecord(row: Selectable<HostTable>): HostRecord {
  return {
    host: row.name,
    state: row.credential_hash === null ? 'reset' : 'enrolled',
    facts: fromJson(row.facts),
    labels: fromJson(row.labels),
    enrolledAt: row.enrolled_at,
    ...(row.reset_at !== null && { resetAt: row.reset_at }),
    ...(row.last_seen_at !== null && { lastSeenAt: row.last_seen_at }),
  };
}

/** One statement, so two concurrent enrollments of one name cannot both win. */
export async function enrollHost(db: Kysely<Database>, req: EnrollRequest): Promise<EnrollResult> {
  const row = await db
    .insertInto('hosts')
    .values({
      name: req.host,
      credential_hash: req.credentialHash,
      facts: toJson(req.facts),
      labels: toJson(req.labels),
      enrolled_at: iso(req.now),
      reset_at: null,
      last_seen_at: iso(req.now),
    })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet((eb) => ({
          credential_hash: eb.ref('excluded.credential_hash'),
          facts: eb.ref('excluded.facts'),
          labels: eb.ref('excluded.labels'),
          enrolled_at: eb.ref('excluded.enrolled_at'),
          last_seen_at: eb.ref('excluded.last_seen_at'),
        }))
        .where('hosts.credential_hash', 'is', null),
    )
    .returningAll()
    .executeTakeFirst();
  return row ? { host: toRecord(row) } : { error: 'host-exists' };
}

/** One transaction: each distinct token is checked and counted once (as of the latest `now`), then the hosts are inserted in order. */
export async function enrollHosts(db: Kysely<Database>, attempts: readonly EnrollAttempt[]): Promise<readonly EnrollAttemptResult[]> {
  if (attempts.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    // Checked at the latest attempt's time: a token never enrolls after it expired.
    const latest = new Date(Math.max(...attempts.map((a) => a.now.getTime())));
    const checks = await consumeTokens(
      trx,
      attempts.map((a) => a.token),
      latest,
    );
    const out: EnrollAttemptResult[] = [];
    for (const a of attempts) {
      const check = checks.get(a.token)!;
      out.push(check.ok ? await enrollHost(trx, a) : { error: check.error });
    }
    return out;
  });
}

export async function resetHost(db: Kysely<Database>, host: string, now: Date): Promise<ResetResult> {
  const row = await db
    .updateTable('hosts')
    .set({ credential_hash: null, reset_at: iso(now) })
    .where('name', '=', host)
    .returningAll()
    .executeTakeFirst();
  return row ? { host: toRecord(row) } : { error: 'unknown-host' };
}

export async function findHostByCredentialHash(db: Kysely<Database>, hash: string): Promise<HostCredential | undefined> {
  const row = await db.selectFrom('hosts').select(['name', 'credential_hash']).where('credential_hash', '=', hash).executeTakeFirst();
  return row && row.credential_hash !== null ? { host: row.name, credentialHash: row.credential_hash } : undefined;
}

export async function getHost(db: Kysely<Database>, host: string): Promise<HostRecord | undefined> {
  const row = await db.selectFrom('hosts').selectAll().where('name', '=', host).executeTakeFirst();
  return row && toRecord(row);
}

export async function listHosts(db: Kysely<Database>, options: { readonly offset?: number; readonly limit?: number; readonly state?: HostEnrollment }): Promise<HostPage> {
  let base = db.selectFrom('hosts');
  if (options.state === 'enrolled') base = base.where('credential_hash', 'is not', null);
  if (options.state === 'reset') base = base.where('credential_hash', 'is', null);
  const total = await base.select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
  const rows = await base
    .selectAll()
    .orderBy('name')
    .limit(Math.max(0, options.limit ?? 100))
    .offset(Math.max(0, options.offset ?? 0))
    .execute();
  return { hosts: rows.map(toRecord), total: toCount(total.n) };
}

export async function markSeen(db: Kysely<Database>, host: string, now: Date): Promise<void> {
  await db
    .updateTable('hosts')
    .set({ last_seen_at: iso(now) })
    .where('name', '=', host)
    .execute();
}
