/** Enrolled hosts and their credential hashes. */
import type { Kysely, Selectable } from 'kysely';
import { randomUUID } from 'node:crypto';
import { insertRows } from './bulk-insert.js';
import { chunks, fromJson, iso, toCount, toJson } from './codec.js';
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
  const [record] = await insertHosts(db, [req]);
  return record ? { host: record } : { error: 'host-exists' };
}

/**
 * Two short transactions: each distinct token is checked and counted once (as of the latest `now`),
 * then the hosts of valid tokens are inserted, a slice per multi-row statement. The token row's
 * lock is held only by the first, so concurrent batches (PostgreSQL replicas) wait on it for one
 * statement, not a batch. A name twice in one batch: the later attempts are `host-exists`.
 */
export async function enrollHosts(db: Kysely<Database>, attempts: readonly EnrollAttempt[]): Promise<readonly EnrollAttemptResult[]> {
  if (attempts.length === 0) return [];
  // Checked at the latest attempt's time: a token never enrolls after it expired.
  const latest = new Date(Math.max(...attempts.map((a) => a.now.getTime())));
  const checks = await db.transaction().execute((trx) =>
    consumeTokens(
      trx,
      attempts.map((a) => a.token),
      latest,
    ),
  );
  const first = new Map<string, EnrollAttempt>();
  for (const a of attempts) if (checks.get(a.token)!.ok && !first.has(a.host)) first.set(a.host, a);
  const enrolled = new Map<string, HostRecord>();
  if (first.size > 0) {
    await db.transaction().execute(async (trx) => {
      for (const record of await insertHosts(trx, [...first.values()])) enrolled.set(record.host, record);
    });
  }
  return attempts.map((a): EnrollAttemptResult => {
    const check = checks.get(a.token)!;
    if (!check.ok) return { error: check.error };
    const record = first.get(a.host) === a ? enrolled.get(a.host) : undefined;
    return record ? { host: record } : { error: 'host-exists' };
  });
}

/** Rows per multi-row enrollment insert: 7 parameters each, far below both dialects' limits. */
const ENROLL_SLICE = 500;

/**
 * Multi-row statements, a slice at a time: insert new names and take over reset ones; a name
 * holding a credential is left alone (no record). The records are the requests as stored.
 */
async function insertHosts(db: Kysely<Database>, requests: readonly EnrollRequest[]): Promise<HostRecord[]> {
  const rows = requests.map((req) => ({
    name: req.host,
    credential_hash: req.credentialHash,
    facts: toJson(req.facts),
    labels: toJson(req.labels),
    enrolled_at: iso(req.now),
    reset_at: null,
    last_seen_at: iso(req.now),
  }));
  const written = await insertRows(db, 'hosts-enroll', rows, ENROLL_SLICE, (slice) =>
    db
      .insertInto('hosts')
      .values(slice)
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
      .returning(['name', 'reset_at']),
  );
  const resetAt = new Map(written.map((r) => [r.name, r.reset_at]));
  const out: HostRecord[] = [];
  for (const req of requests) {
    if (!resetAt.has(req.host)) continue;
    const reset = resetAt.get(req.host) ?? null;
    const at = iso(req.now);
    out.push({ host: req.host, state: 'enrolled', facts: req.facts, labels: req.labels, enrolledAt: at, ...(reset !== null && { resetAt: reset }), lastSeenAt: at });
  }
  return out;
}

/** The meta key whose value changes with every credential revoked (see `credentialsVersion`). */
const CREDENTIALS_VERSION_KEY = 'hosts.credentials.version';

/** Revokes the credential and moves the credentials version in the same transaction. */
export async function resetHost(db: Kysely<Database>, host: string, now: Date): Promise<ResetResult> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('hosts')
      .set({ credential_hash: null, reset_at: iso(now) })
      .where('name', '=', host)
      .returningAll()
      .executeTakeFirst();
    if (!row) return { error: 'unknown-host' } as const;
    await trx
      .insertInto('meta')
      .values({ key: CREDENTIALS_VERSION_KEY, value: randomUUID() })
      .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
    return { host: toRecord(row) };
  });
}

export async function credentialsVersion(db: Kysely<Database>): Promise<string> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', CREDENTIALS_VERSION_KEY).executeTakeFirst();
  return row?.value ?? '';
}

/** Hosts reset at or after `since`, by name. */
export async function resetSince(db: Kysely<Database>, since: Date): Promise<readonly string[]> {
  const rows = await db.selectFrom('hosts').select('name').where('reset_at', '>=', iso(since)).orderBy('name').execute();
  return rows.map((r) => r.name);
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

/**
 * One transaction; a time never moves a host's last seen backwards. Hosts seen at the same time
 * share a statement (callers round times, e.g. to the second, so a batch takes few statements).
 */
export async function markSeenMany(db: Kysely<Database>, entries: readonly { readonly host: string; readonly at: Date }[]): Promise<void> {
  if (entries.length === 0) return;
  const byTime = new Map<string, string[]>();
  for (const e of entries) {
    const at = iso(e.at);
    const hosts = byTime.get(at);
    if (hosts) hosts.push(e.host);
    else byTime.set(at, [e.host]);
  }
  await db.transaction().execute(async (trx) => {
    for (const [at, hosts] of byTime) {
      for (const slice of chunks(hosts, 500)) {
        await trx
          .updateTable('hosts')
          .set({ last_seen_at: at })
          .where('name', 'in', slice)
          .where((eb) => eb.or([eb('last_seen_at', 'is', null), eb('last_seen_at', '<', at)]))
          .execute();
      }
    }
  });
}

export async function markSeen(db: Kysely<Database>, host: string, now: Date): Promise<void> {
  await db
    .updateTable('hosts')
    .set({ last_seen_at: iso(now) })
    .where('name', '=', host)
    .execute();
}
