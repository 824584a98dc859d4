/** The latest inventory per host, with a content hash so unchanged re-sends are cheap to spot. */
import canonicalize from 'canonicalize';
import type { Kysely, Selectable } from 'kysely';
import type { Inventory } from '../../core/plan/types.js';
import { chunks, fromJson, iso, sha256Hex, toJson } from './codec.js';
import { markSeen } from './hosts.js';
import { bumpFleetGeneration } from './meta.js';
import type { Database, InventoryTable } from './schema.js';
import type { InventoryRecord, PutInventoryResult } from './store.js';
import { takeExcluded, updateEach } from './upsert.js';

/** sha256 (hex) of the JCS form, so key order does not make a change. */
export function inventoryHash(inventory: Inventory): string {
  const text = canonicalize(inventory);
  if (text === undefined) throw new TypeError('inventory cannot be canonicalized');
  return sha256Hex(text);
}

function toRecord(row: Selectable<InventoryTable>): InventoryRecord {
  return { inventory: fromJson(row.doc), hash: row.hash, updatedAt: row.updated_at, reportedAt: row.reported_at };
}

export async function putInventory(db: Kysely<Database>, inventory: Inventory, now: Date): Promise<PutInventoryResult> {
  return db.transaction().execute((trx) => putInventoryIn(trx, inventory, now));
}

/**
 * One transaction for all; each item also marks its host seen at its `now`. Multi-row statements a
 * slice at a time: one read of the stored hashes, one upsert of what changed, one update of the
 * report time of what did not and one of last seen. A host twice in one batch: item by item, in order.
 */
export async function putInventories(db: Kysely<Database>, items: readonly { readonly inventory: Inventory; readonly now: Date }[]): Promise<readonly PutInventoryResult[]> {
  if (items.length === 0) return [];
  const distinct = new Set(items.map((i) => i.inventory.host)).size === items.length;
  return db.transaction().execute(async (trx) => {
    if (!distinct) {
      const out: PutInventoryResult[] = [];
      for (const { inventory, now } of items) {
        out.push(await putInventoryIn(trx, inventory, now));
        await markSeen(trx, inventory.host, now);
      }
      return out;
    }
    const out: PutInventoryResult[] = [];
    for (const slice of chunks(items, SLICE)) out.push(...(await putSlice(trx, slice)));
    return out;
  });
}

/** Rows per multi-row statement: 5 parameters each. */
const SLICE = 500;

async function putSlice(trx: Kysely<Database>, items: readonly { readonly inventory: Inventory; readonly now: Date }[]): Promise<PutInventoryResult[]> {
  const hosts = items.map((i) => i.inventory.host);
  const stored = new Map((await trx.selectFrom('inventories').select(['host', 'hash']).where('host', 'in', hosts).execute()).map((r) => [r.host, r.hash]));
  const results: PutInventoryResult[] = [];
  const changed: { host: string; doc: string; hash: string; updated_at: string; reported_at: string }[] = [];
  const unchanged: [string, string][] = [];
  const seen: [string, string][] = [];
  for (const { inventory, now } of items) {
    const hash = inventoryHash(inventory);
    const at = iso(now);
    if (stored.get(inventory.host) === hash) {
      unchanged.push([inventory.host, at]);
      results.push({ hash, changed: false });
    } else {
      changed.push({ host: inventory.host, doc: toJson(inventory), hash, updated_at: at, reported_at: at });
      results.push({ hash, changed: true });
    }
    seen.push([inventory.host, at]);
  }
  if (changed.length > 0) {
    await trx
      .insertInto('inventories')
      .values(changed)
      .onConflict((oc) => oc.column('host').doUpdateSet(takeExcluded('inventories', 'doc', 'hash', 'updated_at', 'reported_at')))
      .execute();
    await bumpFleetGeneration(trx);
  }
  await updateEach(trx, 'inventories', 'host', 'reported_at', unchanged);
  await updateEach(trx, 'hosts', 'name', 'last_seen_at', seen);
  return results;
}

async function putInventoryIn(trx: Kysely<Database>, inventory: Inventory, now: Date): Promise<PutInventoryResult> {
  const hash = inventoryHash(inventory);
  const at = iso(now);
  {
    const stored = await trx.selectFrom('inventories').select('hash').where('host', '=', inventory.host).executeTakeFirst();
    if (stored?.hash === hash) {
      await trx.updateTable('inventories').set({ reported_at: at }).where('host', '=', inventory.host).execute();
      return { hash, changed: false };
    }
    await trx
      .insertInto('inventories')
      .values({ host: inventory.host, doc: toJson(inventory), hash, updated_at: at, reported_at: at })
      .onConflict((oc) => oc.column('host').doUpdateSet(takeExcluded('inventories', 'doc', 'hash', 'updated_at', 'reported_at')))
      .execute();
    await bumpFleetGeneration(trx);
    return { hash, changed: true };
  }
}

export async function getInventory(db: Kysely<Database>, host: string): Promise<InventoryRecord | undefined> {
  const row = await db.selectFrom('inventories').selectAll().where('host', '=', host).executeTakeFirst();
  return row && toRecord(row);
}

export async function listInventories(
  db: Kysely<Database>,
  options: { readonly changedSince?: Date; readonly hosts?: readonly string[] } = {},
): Promise<readonly InventoryRecord[]> {
  if (options.hosts !== undefined) {
    // A slice at a time, each under the parameter limits of both dialects.
    const out: InventoryRecord[] = [];
    for (const slice of chunks([...new Set(options.hosts)], 500)) {
      let query = db.selectFrom('inventories').selectAll().where('host', 'in', slice);
      if (options.changedSince) query = query.where('updated_at', '>', iso(options.changedSince));
      for (const row of await query.execute()) out.push(toRecord(row));
    }
    return out.sort((a, b) => (a.inventory.host < b.inventory.host ? -1 : a.inventory.host > b.inventory.host ? 1 : 0));
  }
  // Pages by host, so a fleet is read (and parsed) a page per query, never in one long call.
  const out: InventoryRecord[] = [];
  let after: string | undefined;
  for (;;) {
    let query = db.selectFrom('inventories').selectAll();
    if (options.changedSince) query = query.where('updated_at', '>', iso(options.changedSince));
    if (after !== undefined) query = query.where('host', '>', after);
    const rows = await query.orderBy('host').limit(PAGE).execute();
    for (const row of rows) out.push(toRecord(row));
    if (rows.length < PAGE) return out;
    after = rows[rows.length - 1]!.host;
    // Lets other work run between pages (on SQLite a query answers without a turn of the event loop).
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Inventories read per query when reading them all. */
const PAGE = 2000;

/** Host → content hash of its latest inventory, without reading the documents. */
export async function inventoryHashes(db: Kysely<Database>): Promise<ReadonlyMap<string, string>> {
  const rows = await db.selectFrom('inventories').select(['host', 'hash']).execute();
  return new Map(rows.map((r) => [r.host, r.hash]));
}
