/**
 * Observe + load/validate: the snapshot to plan from. A revision is loaded once; one that does
 * not validate is recorded as rejected and the last good snapshot stays the desired one.
 */
import type { Logger } from 'pino';
import type { ManifestSource } from '../source/source.js';
import type { Store } from '../store/store.js';
import type { ReconcileMemo } from './memo.js';
import type { Planning } from './planning.js';

/** The revision fields of the memo after looking at the source. */
export async function observeSource(
  memo: ReconcileMemo,
  deps: { readonly source: ManifestSource; readonly planning: Pick<Planning, 'load'>; readonly store: Store; readonly logger: Logger },
  now: Date,
): Promise<Pick<ReconcileMemo, 'loadedRevision' | 'observedRevision' | 'rejectedRevision' | 'desired'>> {
  const { source, planning, store, logger } = deps;
  const fetched = source.current();
  const unchanged = { loadedRevision: memo.loadedRevision, observedRevision: memo.observedRevision, rejectedRevision: memo.rejectedRevision, desired: memo.desired };
  if (!fetched || fetched.revision === memo.loadedRevision) return unchanged;
  const loaded = planning.load(fetched.files, fetched.revision, now);
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (loaded.snapshot && errors.length === 0) {
    return { loadedRevision: fetched.revision, observedRevision: fetched.revision, rejectedRevision: undefined, desired: loaded.snapshot };
  }
  await store.recordSourceAttempt({ revision: fetched.revision, ok: false, problems: loaded.problems, at: now });
  logger.warn(
    {
      revision: fetched.revision,
      inForce: memo.applied?.revision,
      problems: errors.slice(0, 20).map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`),
      errors: errors.length,
    },
    'reconcile: revision rejected, the last good revision stays in force',
  );
  return { loadedRevision: fetched.revision, observedRevision: fetched.revision, rejectedRevision: fetched.revision, desired: memo.desired };
}
