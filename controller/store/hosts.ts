/** Enrolled hosts and their credential hashes. */
import { CompiledQuery, PostgresAdapter, type Kysely, type Selectable } from 'kysely';
import { randomUUID } from 'node:crypto';
import { insertRows } from './bulk-insert.js';
import { chunks, fromJson, iso, sha256Hex, toCount, toJson } from './codec.js';
import { prepared } from './pg-prepared.js';
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
 * then the hosts of valid tokens are inserted, a slice per multi-row statement (a transaction only
 * when either takes more than one statement: one token, at most one slice of hosts). The token row's
 * lock is held only by the first, so concurrent batches (PostgreSQL replicas) wait on it for one
 * statement, not a batch. A name twice in one batch: the later attempts are `host-exists`.
 */
export async function enrollHosts(db: Kysely<Database>, attempts: readonly EnrollAttempt[]): Promise<readonly EnrollAttemptResult[]> {
  if (attempts.length === 0) return [];
  // Checked at the latest attempt's time: a token never enrolls after it expired.
  const latest = new Date(Math.max(...attempts.map((a) => a.now.getTime())));
  const tokens = attempts.map((a) => a.token);
  if (new Set(tokens).size === 1 && db.getExecutor().adapter instanceof PostgresAdapter) return enrollOneTokenPostgres(db, attempts, latest);
  // One statement needs no transaction around it: one round trip instead of three (BEGIN, it, COMMIT).
  const checks = new Set(tokens).size === 1 ? await consumeTokens(db, tokens, latest) : await db.transaction().execute((trx) => consumeTokens(trx, tokens, latest));
  const first = new Map<string, EnrollAttempt>();
  for (const a of attempts) if (checks.get(a.token)!.ok && !first.has(a.host)) first.set(a.host, a);
  const enrolled = new Map<string, HostRecord>();
  if (first.size > 0) {
    const insert = async (trx: Kysely<Database>) => {
      for (const record of await insertHosts(trx, [...first.values()])) enrolled.set(record.host, record);
    };
    await (first.size <= ENROLL_SLICE ? insert(db) : db.transaction().execute(insert));
  }
  return attempts.map((a): EnrollAttemptResult => {
    const check = checks.get(a.token)!;
    if (!check.ok) return { error: check.error };
    const record = first.get(a.host) === a ? enrolled.get(a.host) : undefined;
    return record ? { host: record } : { error: 'host-exists' };
  });
}

/**
 * PostgreSQL, every attempt with one token: one statement (one round trip, one commit) counts the
 * token's uses and, only if it is valid, inserts the hosts, as `enrollHosts` would in two. The
 * token's row stays locked until its commit, which is this statement's own.
 */
async function enrollOneTokenPostgres(db: Kysely<Database>, attempts: readonly EnrollAttempt[], latest: Date): Promise<readonly EnrollAttemptResult[]> {
  const token = attempts[0]!.token;
  const first = new Map<string, EnrollAttempt>();
  for (const a of attempts) if (!first.has(a.host)) first.set(a.host, a);
  const [names, credentials, facts, labels, ats]: string[][] = [[], [], [], [], []];
  for (const a of first.values()) {
    names.push(a.host);
    credentials.push(a.credentialHash);
    facts.push(toJson(a.facts));
    labels.push(toJson(a.labels));
    ats.push(iso(a.now));
  }
  const { rows } = await db.executeQuery<{ expires_at: string | null; uses: number | null; name: string | null; reset_at: string | null }>(
    CompiledQuery.raw(ENROLL_ONE_TOKEN_SQL, [attempts.length, iso(latest), sha256Hex(token), names, credentials, facts, labels, ats]),
  );
  const used = rows.find((r) => r.name === null);
  if (used === undefined) {
    const known = await db.selectFrom('enrollment_tokens').select('token_hash').where('token_hash', '=', sha256Hex(token)).executeTakeFirst();
    const error = known ? ('expired' as const) : ('unknown-token' as const);
    return attempts.map(() => ({ error }));
  }
  const enrolled = new Map<string, HostRecord>();
  for (const record of hostRecords([...first.values()], new Map(rows.flatMap((r) => (r.name === null ? [] : [[r.name, r.reset_at] as const]))))) enrolled.set(record.host, record);
  return attempts.map((a): EnrollAttemptResult => {
    const record = first.get(a.host) === a ? enrolled.get(a.host) : undefined;
    return record ? { host: record } : { error: 'host-exists' };
  });
}

/** The statement of `enrollOneTokenPostgres`: the token's row (a null name) if valid, then one row per host written. */
const ENROLL_ONE_TOKEN_SQL = prepared(`with t as (
  update "enrollment_tokens" set "uses" = "uses" + $1::integer, "last_used_at" = $2::text where "token_hash" = $3::text and "expires_at" > $2::text
  returning "expires_at", "uses"),
v as (select * from unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) as v (name, credential_hash, facts, labels, at)),
ins as (
  insert into "hosts" ("name", "credential_hash", "facts", "labels", "enrolled_at", "reset_at", "last_seen_at")
  select v.name, v.credential_hash, v.facts, v.labels, v.at, null, v.at from v where exists (select 1 from t)
  on conflict ("name") do update set "credential_hash" = excluded."credential_hash", "facts" = excluded."facts", "labels" = excluded."labels",
    "enrolled_at" = excluded."enrolled_at", "last_seen_at" = excluded."last_seen_at"
  where "hosts"."credential_hash" is null
  returning "name", "reset_at")
select "expires_at", "uses", null::text as "name", null::text as "reset_at" from t
union all select null, null, "name", "reset_at" from ins`);

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
  return hostRecords(requests, new Map(written.map((r) => [r.name, r.reset_at])));
}

/** The records of the `requests` that were written (`resetAt` has their names: a reset host's reset time, else null), as stored. */
function hostRecords(requests: readonly EnrollRequest[], resetAt: ReadonlyMap<string, string | null>): HostRecord[] {
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
