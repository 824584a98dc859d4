/** The planner's inputs besides the snapshot and inventories, and its fleet-wide result. */
import type { ArtifactChunks, ContentSource, HostPlan, Inventory } from '../plan/types.js';

/**
 * The fleet's inventories: a list (a host listed twice keeps one, see core/groups inventoryIndex),
 * or one per host by name (e.g. the controller's VersionedMap, used as it is: no index is built).
 */
export type Inventories = readonly Inventory[] | ReadonlyMap<string, Inventory>;

/** Whether `inventories` is a list. */
export function isList(inventories: Inventories): inventories is readonly Inventory[] {
  return Array.isArray(inventories);
}

/** One package version Ferry installed on a host for a deployment (the controller remembers these). */
export interface InstalledRecord {
  readonly host: string;
  readonly deployment: string;
  readonly package: string;
  readonly version: string;
  /**
   * The deployment's onLeave when it was installed. Used only once the deployment is deleted
   * (its manifest, and so its onLeave, is gone); absent means `keep`.
   */
  readonly onLeave?: 'keep' | 'uninstall';
}

/**
 * What Ferry installed where: a list, or the records by host (e.g. the controller's VersionedMap,
 * used as it is: the planner compares only the hosts its newest version changed).
 */
export type InstalledRecords = readonly InstalledRecord[] | ReadonlyMap<string, readonly InstalledRecord[]>;

/** Hosts whose actions of one deployment finished / failed. */
export interface RolloutProgress {
  readonly finished: ReadonlySet<string>;
  readonly failed: ReadonlySet<string>;
}

export interface PlanningContext {
  /** RFC 3339 UTC; the only clock. Windows are expanded from the start of its UTC day. */
  readonly now: string;
  /** What Ferry installed where; drives drift and onLeave: uninstall. */
  readonly installed: InstalledRecords;
  /** Rollout progress by deployment. */
  readonly rollout?: ReadonlyMap<string, RolloutProgress>;
  /** Deployments suspended by an operator (the controller's database), next to spec.suspended. */
  readonly suspended?: ReadonlySet<string>;
  /** Deployments an operator resumed: not suspended, whatever spec.suspended or a rollout's maxFailures say. */
  readonly resumed?: ReadonlySet<string>;
  /** Artifacts (sha256 → reason) whose content is missing or wrong: installs of them are blocked. */
  readonly unavailable?: ReadonlyMap<string, string>;
  /**
   * Per-chunk sha256s of artifacts (by sha256), as the controller computed them from its content
   * store: the install actions of `distribute.multicast` deployments carry them (`artifact.chunks`).
   */
  readonly chunks?: ReadonlyMap<string, ArtifactChunks>;
  /** Default `{kind: 'controller', name: 'controller'}`. */
  readonly controllerSource?: ContentSource;
}

export interface DeploymentOutcome {
  readonly name: string;
  /** Targeted hosts in rollout order (wave 1 first); by name when the deployment has no rollout. */
  readonly hosts: readonly string[];
  /** Cumulative host counts at the end of each wave: wave i is hosts[waveEnds[i-2] ?? 0, waveEnds[i-1]). */
  readonly waveEnds: readonly number[];
  /** The first wave not yet finished (1-based); the last wave once all are; 0 with no hosts. */
  readonly currentWave: number;
  readonly waves: number;
  /** Why the deployment suspended itself (maxFailures exceeded). */
  readonly selfSuspended?: string;
  /** The strongest suspension in force: spec, then operator, then self. */
  readonly suspended: 'spec' | 'operator' | 'self' | false;
}

export interface FleetPlan {
  /** Host → its plan, hosts sorted by name. */
  readonly plans: ReadonlyMap<string, HostPlan>;
  /** Deployment → outcome, sorted by name. */
  readonly deployments: ReadonlyMap<string, DeploymentOutcome>;
  /** Host → hashPlan(plan); computed on first read and remembered per plan object. */
  readonly hashes: ReadonlyMap<string, string>;
  /** Group → member hosts, as this plan resolved them (sets are never changed once made). */
  readonly groups: ReadonlyMap<string, ReadonlySet<string>>;
}
