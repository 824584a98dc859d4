/**
 * The pure steps the reconciler calls: load+validate a revision's files, and plan the fleet
 * (the whole fleet the first time, only affected hosts afterwards). A seam so the loop stays thin.
 */
import type { LoadResult, ManifestFile, Snapshot } from '../../core/manifest/types.js';
import type { ArtifactChunks, ContentSource, HostPlan, Inventory } from '../../core/plan/types.js';
import type { InstalledRecords } from '../../core/planner/types.js';
import type { RolloutProgress } from './rollout.js';

/** Everything one planning pass reads. */
export interface PlanningInputs {
  readonly snapshot: Snapshot;
  /** Host → latest inventory (or a list of them). */
  readonly inventories: ReadonlyMap<string, Inventory> | readonly Inventory[];
  /** The hosts whose inventory may differ from the previous pass's inputs; absent: any host's may. */
  readonly changedHosts?: ReadonlySet<string>;
  readonly now: Date;
  readonly installed: InstalledRecords;
  readonly rollout: ReadonlyMap<string, RolloutProgress>;
  /** Deployments an operator suspended (or Ferry did, after a rollout's maxFailures). */
  readonly suspended: ReadonlySet<string>;
  /** Deployments an operator resumed: not suspended, whatever `spec.suspended` or a rollout says. */
  readonly resumed?: ReadonlySet<string>;
  /** Artifacts (by sha256) whose content is missing or wrong, with the reason; no install may use them. */
  readonly unavailable?: ReadonlyMap<string, string>;
  /** Per-chunk sha256s of the artifacts multicast deployments install, by sha256 (into those plans). */
  readonly chunks?: ReadonlyMap<string, ArtifactChunks>;
  readonly controllerSource?: ContentSource;
}

export interface FleetPlanResult {
  readonly plans: ReadonlyMap<string, HostPlan>;
  /** Content hash of each host's plan: its serial rises only when this changes. */
  readonly hashes: ReadonlyMap<string, string>;
  /** Group → member hosts, as the pass resolved them (the API's group views read these). */
  readonly groups?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Per deployment, whether and why it is suspended (`self`: a rollout exceeded maxFailures). */
  readonly deployments?: ReadonlyMap<string, { readonly suspended: 'spec' | 'operator' | 'self' | false; readonly selfSuspended?: string }>;
}

export interface PlanningPass<R extends FleetPlanResult = FleetPlanResult> {
  readonly result: R;
  /** Hosts whose plan was computed again (all of them on a first pass). */
  readonly replanned: number;
  /** Which hosts those are (and hosts that left the fleet); absent: possibly any host. */
  readonly replannedHosts?: readonly string[];
}

export interface Planning<R extends FleetPlanResult = FleetPlanResult> {
  /** `now`: a Package signed only by an expired publisher key rejects the revision. */
  load(files: readonly ManifestFile[], revision: string, now?: Date): LoadResult;
  /** Plans the fleet; with `previous`, re-plans only the hosts whose inputs changed. May take event-loop turns while it runs. */
  plan(inputs: PlanningInputs, previous?: { readonly inputs: PlanningInputs; readonly result: R }): Promise<PlanningPass<R>>;
}
