/**
 * What the reconciler remembers between passes, as one value: each pass reads the memo it starts
 * from and, when it succeeds, replaces it with the next one (a failed pass leaves it as it was,
 * so the retry compares against what is really stored).
 */
import type { Snapshot } from '../../core/manifest/types.js';
import type { FleetView } from './fleet-view.js';
import type { FleetPlanResult, PlanningInputs } from './planning.js';

export interface ReconcileMemo<R extends FleetPlanResult = FleetPlanResult> {
  /** The newest revision loaded (applied or rejected), so a revision is validated once. */
  readonly loadedRevision?: string;
  /** The newest revision looked at. */
  readonly observedRevision?: string;
  /** The newest revision, when it did not validate. */
  readonly rejectedRevision?: string;
  /** The newest snapshot that validated (applied once its plans are saved). */
  readonly desired?: Snapshot;
  /** The last snapshot that validated and whose plans were saved. */
  readonly applied?: Snapshot;
  /** Inventories and installed records as of the last successful pass. */
  readonly fleet?: FleetView;
  /** The last planning: its inputs, its result, and the key of its small inputs (overrides, rollout, content, day). */
  readonly planned?: { readonly inputs: PlanningInputs; readonly result: R; readonly key: string };
  /** Hosts that take part in a deployment with rollout waves: their reports can advance a wave. */
  readonly rolloutHosts: ReadonlySet<string>;
  /** Rollout hosts whose plans the last pass raised: the next pass reads their action statuses again. */
  readonly rolloutStale: ReadonlySet<string>;
}

export const emptyMemo: ReconcileMemo = Object.freeze({ rolloutHosts: new Set<string>(), rolloutStale: new Set<string>() });
