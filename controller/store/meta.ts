/** A small key/value table for controller settings that belong with the data (e.g. schema facts). */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export async function getMeta(db: Kysely<Database>, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

export async function setMeta(db: Kysely<Database>, key: string, value: string): Promise<void> {
  await db
    .insertInto('meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
    .execute();
}

/** The meta key whose value changes with every change of an inventory or an installed record (see `fleetGeneration`). */
const FLEET_GENERATION = 'fleet.generation';

/** A token that changes whenever an inventory's content or an installed record changes; compare for equality only. */
export async function fleetGeneration(db: Kysely<Database>): Promise<string> {
  return (await getMeta(db, FLEET_GENERATION)) ?? '';
}

/** Call inside the transaction that changed an inventory or an installed record. */
export async function bumpFleetGeneration(trx: Kysely<Database>): Promise<void> {
  await setMeta(trx, FLEET_GENERATION, randomUUID());
}
