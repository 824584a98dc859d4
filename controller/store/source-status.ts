/** Flux-style source status: one row, rewritten on every attempt. */
import type { Kysely, Selectable } from 'kysely';
import type { Problem } from '../../core/manifest/types.js';
import { fromJson, iso, toJson } from './codec.js';
import type { Database, SourceStatusTable } from './schema.js';
import type { SourceAttempt, SourceStatusRecord } from './store.js';

const ROW = 1;

function toRecord(row: Selectable<SourceStatusTable> | undefined): SourceStatusRecord {
  if (!row) return {};
  return {
    ...(row.last_applied_revision !== null && { lastAppliedRevision: row.last_applied_revision }),
    ...(row.last_applied_at !== null && { lastAppliedAt: row.last_applied_at }),
    ...(row.last_attempted_revision !== null && { lastAttemptedRevision: row.last_attempted_revision }),
    ...(row.last_attempted_at !== null && { lastAttemptedAt: row.last_attempted_at }),
    ...(row.last_attempt_ok !== null && { lastAttemptOk: row.last_attempt_ok === 1 }),
    ...(row.rejected_revision !== null && {
      rejected: {
        revision: row.rejected_revision,
        at: row.rejected_at ?? '',
        problems: fromJson<Problem[]>(row.rejected_problems ?? '[]'),
        ...(row.rejected_message !== null && { message: row.rejected_message }),
      },
    }),
  };
}

/** An applied revision clears the rejection; a rejected one keeps the applied revision in force. */
export async function recordSourceAttempt(db: Kysely<Database>, attempt: SourceAttempt): Promise<SourceStatusRecord> {
  const at = iso(attempt.at);
  const common = { last_attempted_revision: attempt.revision, last_attempted_at: at, last_attempt_ok: attempt.ok ? 1 : 0 };
  const change = attempt.ok
    ? {
        ...common,
        last_applied_revision: attempt.revision,
        last_applied_at: at,
        rejected_revision: null,
        rejected_at: null,
        rejected_problems: null,
        rejected_message: null,
      }
    : {
        ...common,
        rejected_revision: attempt.revision,
        rejected_at: at,
        rejected_problems: toJson(attempt.problems ?? []),
        rejected_message: attempt.message ?? null,
      };
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('source_status')
      .values({ id: ROW, ...change })
      .onConflict((oc) => oc.column('id').doUpdateSet(change))
      .execute();
    return toRecord(await trx.selectFrom('source_status').selectAll().where('id', '=', ROW).executeTakeFirst());
  });
}

export async function getSourceStatus(db: Kysely<Database>): Promise<SourceStatusRecord> {
  return toRecord(await db.selectFrom('source_status').selectAll().where('id', '=', ROW).executeTakeFirst());
}
