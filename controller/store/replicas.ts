/** Controller replicas sharing the database, each with the URL its peers reach it at and when it last said so (content fetched from peers). */
import type { Kysely } from 'kysely';
import { iso } from './codec.js';
import type { Database } from './schema.js';
import type { ReplicaRecord } from './store.js';

export async function recordReplica(db: Kysely<Database>, id: string, url: string, now: Date): Promise<void> {
  await db
    .insertInto('replicas')
    .values({ id, url, seen_at: iso(now) })
    .onConflict((oc) => oc.column('id').doUpdateSet({ url, seen_at: iso(now) }))
    .execute();
}

/** Replicas seen at or after `since`, most recently seen first. */
export async function listReplicas(db: Kysely<Database>, since: Date): Promise<readonly ReplicaRecord[]> {
  const rows = await db.selectFrom('replicas').select(['id', 'url', 'seen_at']).where('seen_at', '>=', iso(since)).orderBy('seen_at', 'desc').execute();
  return rows.map((r) => ({ id: r.id, url: r.url, seenAt: new Date(r.seen_at) }));
}

export async function forgetReplica(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('replicas').where('id', '=', id).execute();
}
