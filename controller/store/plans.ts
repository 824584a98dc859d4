/** Per-host plans: the serial rises by one exactly when the plan's hash changes. */
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { chunks, fromJson, iso, toJson } from './codec.js';
import { replacePlanActions, type RaisedPlan } from './plan-actions.js';
import type { Database, PlanTable } from './schema.js';
import type { PlanEntry, PlanRecord, RaisedSerial, SavePlansOptions, SignedPlan, SignedPlanDocument, UnsignedPlanRecord } from './store.js';
import { takeExcluded } from './upsert.js';

const CHUNK = 500;

/** The meta key whose value changes with every write of a signed plan document (see `plansVersion`). */
const VERSION_KEY = 'plans.version';

function toRecord(row: Selectable<PlanTable>): PlanRecord {
  return {
    host: row.host,
    serial: row.serial,
    hash: row.hash,
    revision: row.revision,
    body: fromJson(row.body),
    generatedAt: row.generated_at,
    ...(row.signed !== null && { signed: row.signed }),
  };
}

export async function savePlans(db: Kysely<Database>, entries: readonly PlanEntry[], now: Date, options: SavePlansOptions = {}): Promise<readonly RaisedSerial[]> {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.host)) throw new TypeError(`savePlans: host ${e.host} appears twice`);
    seen.add(e.host);
  }
  const generatedAt = iso(now);
  const raised: RaisedSerial[] = [];
  await db.transaction().execute(async (trx) => {
    for (const slice of chunks(entries, CHUNK)) {
      const stored = await trx
        .selectFrom('plans')
        .select(['host', 'hash', 'serial'])
        .where(
          'host',
          'in',
          slice.map((e) => e.host),
        )
        .execute();
      const byHost = new Map(stored.map((s) => [s.host, s]));
      const rows: Selectable<PlanTable>[] = [];
      const changed: RaisedPlan[] = [];
      for (const e of slice) {
        const old = byHost.get(e.host);
        if (old?.hash === e.hash) continue;
        const plan: UnsignedPlanRecord = {
          host: e.host,
          serial: (old?.serial ?? 0) + 1,
          hash: e.hash,
          revision: e.revision,
          body: e.body,
          generatedAt,
        };
        rows.push({
          host: plan.host,
          serial: plan.serial,
          hash: plan.hash,
          revision: plan.revision,
          body: toJson(plan.body),
          generated_at: generatedAt,
          signed: options.sign ? options.sign(plan) : null,
        });
        raised.push({ host: plan.host, serial: plan.serial });
        changed.push({ host: plan.host, serial: plan.serial, body: plan.body });
      }
      if (rows.length === 0) continue;
      await trx
        .insertInto('plans')
        .values(rows)
        .onConflict((oc) => oc.column('host').doUpdateSet(takeExcluded('plans', 'serial', 'hash', 'revision', 'body', 'generated_at', 'signed')))
        .execute();
      await replacePlanActions(trx, changed);
    }
    if (raised.length > 0) await bumpVersion(trx);
  });
  return raised.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

export async function putSignedPlans(db: Kysely<Database>, documents: readonly SignedPlanDocument[]): Promise<number> {
  if (documents.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    let updated = 0;
    for (const d of documents) {
      const r = await trx.updateTable('plans').set({ signed: d.signed }).where('host', '=', d.host).where('serial', '=', d.serial).executeTakeFirst();
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
  const row = await db.selectFrom('plans').select(['host', 'serial', 'signed']).where('host', '=', host).executeTakeFirst();
  if (!row || row.signed === null) return undefined;
  return { host: row.host, serial: row.serial, signed: row.signed, sha256: createHash('sha256').update(row.signed, 'utf8').digest('hex') };
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
