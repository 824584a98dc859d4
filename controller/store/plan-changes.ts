/** Read-only: which hosts' plans changed lately, so a replica's poll cache drops those hosts alone. */
import type { Kysely } from 'kysely';
import { iso } from './codec.js';
import type { Database } from './schema.js';
import type { PlanSerial } from './store.js';

/** Hosts whose plan was raised or re-signed at or after `since` (their `generated_at`), with the serial now stored. */
export async function plansChangedSince(db: Kysely<Database>, since: Date): Promise<readonly PlanSerial[]> {
  const rows = await db.selectFrom('plans').select(['host', 'serial', 'generated_at']).where('generated_at', '>=', iso(since)).execute();
  return rows.map((r) => ({ host: r.host, serial: r.serial, generatedAt: new Date(r.generated_at) }));
}
