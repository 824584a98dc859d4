/** Per-host plans: the serial rises by one exactly when the plan's hash changes. */
import { createHash, randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { HostPlan } from '../../core/plan/types.js';
import { writeRows } from './bulk-insert.js';
import { chunks, fromJson, iso, toJson } from './codec.js';
import { replacePlanActions, type RaisedPlan } from './plan-actions.js';
import type { Database, PlanTable } from './schema.js';
import type { PlanEntry, PlanRecord, RaisedSerial, SavePlansOptions, SignedPlan, SignedPlanDocument, StoredSignedPlan, UnsignedPlanRecord } from './store.js';
import { takeExcluded } from './upsert.js';

/** Plans per transaction (and per multi-row statement: 7 parameters each). */
const BATCH = 500;

/** The meta key whose value changes with every write of a signed plan document (see `plansVersion`). */
const VERSION_KEY = 'plans.version';

/** A stored body, or (stored empty beside a signed document) the document's host, sources and actions. */
function bodyOf(row: Pick<Selectable<PlanTable>, 'body' | 'signed'>): HostPlan {
  if (row.body !== '' || row.signed === null) return fromJson(row.body);
  const { host, sources, actions } = fromJson<HostPlan>(row.signed);
  return { host, sources, actions };
}

function toRecord(row: Selectable<PlanTable>): PlanRecord {
  return {
    host: row.host,
    serial: row.serial,
    hash: row.hash,
    revision: row.revision,
    body: bodyOf(row),
    generatedAt: row.generated_at,
    ...(row.signed !== null && { signed: row.signed }),
  };
}

/**
 * Saves plans a batch at a time, one transaction per batch (so a reader — a poll — waits for one
 * batch at most, never for a whole fleet). Per batch: the stored hashes and serials are read, the
 * raised plans signed (`sign` may hand the work to other threads: the batch's signatures are
 * awaited together, outside the transaction), then written only if no other writer moved their
 * serials meanwhile; if one did, the batch rolls back and savePlans throws (the caller plans again
 * from what is stored). A batch is read and handed to `sign` before the previous one is written,
 * so signing on other threads overlaps that write.
 */
export async function savePlans(db: Kysely<Database>, entries: readonly PlanEntry[], now: Date, options: SavePlansOptions = {}): Promise<readonly RaisedSerial[]> {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.host)) throw new TypeError(`savePlans: host ${e.host} appears twice`);
    seen.add(e.host);
  }
  const generatedAt = iso(now);
  const raised: RaisedSerial[] = [];
  const slices = chunks(entries, options.batchSize ?? BATCH);
  const prepare = (i: number) => {
    if (i >= slices.length) return undefined;
    const p = prepareBatch(db, slices[i]!, generatedAt, options);
    // Awaited once the batch before it is written; until then a failure must not count as unhandled.
    p.catch(() => undefined);
    return p;
  };
  let writing: Promise<void> = Promise.resolve();
  try {
    let next = prepare(0);
    for (let i = 0; next !== undefined; i++) {
      const batch = await next;
      next = prepare(i + 1);
      await writing;
      if (batch.rows.length === 0) continue;
      for (const r of batch.rows) raised.push({ host: r.host, serial: r.serial });
      writing = writeBatch(db, batch);
    }
  } finally {
    await writing;
  }
  return raised.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

interface PreparedBatch {
  readonly rows: readonly Selectable<PlanTable>[];
  readonly changed: readonly RaisedPlan[];
}

/** The rows of the plans in `slice` whose hash differs from the stored one, signed. */
async function prepareBatch(db: Kysely<Database>, slice: readonly PlanEntry[], generatedAt: string, options: SavePlansOptions): Promise<PreparedBatch> {
  const stored = await db
    .selectFrom('plans')
    .select(['host', 'hash', 'serial'])
    .where(
      'host',
      'in',
      slice.map((e) => e.host),
    )
    .execute();
  const byHost = new Map(stored.map((s) => [s.host, s]));
  const plans: UnsignedPlanRecord[] = [];
  const changed: RaisedPlan[] = [];
  for (const e of slice) {
    const old = byHost.get(e.host);
    if (old?.hash === e.hash) continue;
    plans.push({ host: e.host, serial: (old?.serial ?? 0) + 1, hash: e.hash, revision: e.revision, body: e.body, generatedAt });
    // The stored plan is the one the caller knows, or there is none: its action rows need no read.
    const known = old === undefined ? null : e.previous !== undefined && e.previous.hash === old.hash ? e.previous.body : undefined;
    changed.push({ host: e.host, serial: (old?.serial ?? 0) + 1, body: e.body, ...(known !== undefined && { before: known }) });
  }
  const sign = options.sign;
  const signed = sign ? await Promise.all(plans.map((p) => sign(p))) : [];
  const rows = plans.map((plan, i) => ({
    host: plan.host,
    serial: plan.serial,
    hash: plan.hash,
    revision: plan.revision,
    // The document holds the body (host, sources, actions): stored once (see bodyOf).
    body: sign && options.documentHoldsBody ? '' : toJson(plan.body),
    generated_at: generatedAt,
    signed: sign ? signed[i]! : null,
  }));
  return { rows, changed };
}

/** One batch in one transaction; throws (rolling it back) when a serial moved since it was read. */
async function writeBatch(db: Kysely<Database>, batch: PreparedBatch): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // The affected-row count says whether every serial was still the one read.
    const written = await writeRows(trx, 'plans-upsert', batch.rows, batch.rows.length, (rows) =>
      trx
        .insertInto('plans')
        .values(rows)
        .onConflict((oc) =>
          oc
            .column('host')
            .doUpdateSet(takeExcluded('plans', 'serial', 'hash', 'revision', 'body', 'generated_at', 'signed'))
            .where('plans.serial', '=', sql<number>`excluded.serial - 1`),
        ),
    );
    if (written !== batch.rows.length) {
      throw new Error(`savePlans: ${batch.rows.length - written} of ${batch.rows.length} plans changed while being saved (another writer); nothing of this batch was saved`);
    }
    await replacePlanActions(trx, batch.changed);
    await bumpVersion(trx);
  });
}

export async function putSignedPlans(db: Kysely<Database>, documents: readonly SignedPlanDocument[]): Promise<number> {
  if (documents.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    let updated = 0;
    for (const d of documents) {
      const r = await trx
        .updateTable('plans')
        .set({ signed: d.signed, generated_at: iso(d.signedAt) })
        .where('host', '=', d.host)
        .where('serial', '=', d.serial)
        .executeTakeFirst();
      updated += Number(r.numUpdatedRows);
    }
    if (updated > 0) await bumpVersion(trx);
    return updated;
  });
}

export async function getPlan(db: Kysely<Database>, host: string): Promise<PlanRecord | undefined> {
  const row = await db.selectFrom('plans').selectAll().where('host', '=', host).executeTakeFirst();
  return row && toRecord(row);
}

/** Reads only what a poll serves; the sha256 is taken here, so no caller parses or re-hashes the body. */
export async function getSignedPlan(db: Kysely<Database>, host: string): Promise<SignedPlan | undefined> {
  const row = await db.selectFrom('plans').select(['host', 'serial', 'signed', 'generated_at']).where('host', '=', host).executeTakeFirst();
  if (!row || row.signed === null) return undefined;
  const sha256 = createHash('sha256').update(row.signed, 'utf8').digest('hex');
  return { host: row.host, serial: row.serial, signed: row.signed, sha256, generatedAt: new Date(row.generated_at) };
}

/** The signed documents of `hosts` (those that have one), a slice of hosts per query, by host. */
export async function listSignedPlans(db: Kysely<Database>, hosts: readonly string[]): Promise<readonly StoredSignedPlan[]> {
  const out: StoredSignedPlan[] = [];
  for (const slice of chunks([...new Set(hosts)], BATCH)) {
    const rows = await db.selectFrom('plans').select(['host', 'serial', 'signed']).where('host', 'in', slice).where('signed', 'is not', null).execute();
    for (const r of rows) out.push({ host: r.host, serial: r.serial, signed: r.signed! });
  }
  return out.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

export async function plansVersion(db: Kysely<Database>): Promise<string> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', VERSION_KEY).executeTakeFirst();
  return row?.value ?? '';
}

/** Inside the write's transaction, so a reader never sees the new documents with the old version. */
async function bumpVersion(trx: Transaction<Database>): Promise<void> {
  await trx
    .insertInto('meta')
    .values({ key: VERSION_KEY, value: randomUUID() })
    .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
    .execute();
}
