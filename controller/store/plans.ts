/** Per-host plans: the serial rises by one exactly when the plan's hash changes. */
import type { Kysely, Selectable } from 'kysely';
import { chunks, fromJson, iso, toJson } from './codec.js';
import type { Database, PlanTable } from './schema.js';
import type { PlanEntry, PlanRecord, RaisedSerial, SavePlansOptions, SignedPlanDocument, UnsignedPlanRecord } from './store.js';

const CHUNK = 500;

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

export async function savePlans(
  db: Kysely<Database>,
  entries: readonly PlanEntry[],
  now: Date,
  options: SavePlansOptions = {},
): Promise<readonly RaisedSerial[]> {
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
      }
      if (rows.length === 0) continue;
      await trx
        .insertInto('plans')
        .values(rows)
        .onConflict((oc) =>
          oc.column('host').doUpdateSet((eb) => ({
            serial: eb.ref('excluded.serial'),
            hash: eb.ref('excluded.hash'),
            revision: eb.ref('excluded.revision'),
            body: eb.ref('excluded.body'),
            generated_at: eb.ref('excluded.generated_at'),
            signed: eb.ref('excluded.signed'),
          })),
        )
        .execute();
    }
  });
  return raised.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

export async function putSignedPlans(db: Kysely<Database>, documents: readonly SignedPlanDocument[]): Promise<number> {
  if (documents.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    let updated = 0;
    for (const d of documents) {
      const r = await trx
        .updateTable('plans')
        .set({ signed: d.signed })
        .where('host', '=', d.host)
        .where('serial', '=', d.serial)
        .executeTakeFirst();
      updated += Number(r.numUpdatedRows);
    }
    return updated;
  });
}

export async function getPlan(db: Kysely<Database>, host: string): Promise<PlanRecord | undefined> {
  const row = await db.selectFrom('plans').selectAll().where('host', '=', host).executeTakeFirst();
  return row && toRecord(row);
}
