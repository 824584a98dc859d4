/**
 * What changes between two fleet plans (the pull-request preview, DESIGN §3 `ferry plan --base`).
 * Everything here is plain data in a deterministic order, ready to print or serialise.
 */
import type { HostPlan, PlanAction, PlannedStatus } from '../plan/types.js';

/** The part of a fleet plan the diff reads: one plan per host. */
export interface FleetPlans {
  readonly plans: ReadonlyMap<string, HostPlan>;
}

/** One action as the diff shows it (the fields of `ferry plan --format json`, plus its artifact). */
export interface ActionSummary {
  readonly id: string;
  readonly deployment: string;
  readonly package: string;
  readonly version: string;
  readonly op: PlanAction['op'];
  readonly status: PlannedStatus;
  readonly blockedBy: readonly string[];
  readonly reason?: string;
  readonly artifact: { readonly sha256: string; readonly size: number };
}

/** The action properties whose change the diff names. */
export type ActionField =
  | 'version'
  | 'artifact'
  | 'status'
  | 'reason'
  | 'blockedBy'
  | 'conditions'
  | 'notBefore'
  | 'distributeWindows'
  | 'installWindows'
  | 'transfer'
  | 'commands'
  | 'shutdownAfter'
  | 'suspended'
  | 'publishers';

/** One property of an action that differs, both sides in words. */
export interface FieldChange {
  readonly field: ActionField;
  readonly before: string;
  readonly after: string;
}

/** The same action (same deployment, package and operation) in both plans, and what differs. */
export interface ChangedAction {
  readonly before: ActionSummary;
  readonly after: ActionSummary;
  readonly changes: readonly FieldChange[];
}

/** Where a host's content comes from: its relay, or the controller directly. */
export interface Site {
  /** The relay's name; absent: the controller, directly. */
  readonly relay?: string;
  /** For display: the relay name, or `controller (direct)`. */
  readonly name: string;
}

/** How one host's plan changes. Only hosts with a change are listed in a FleetDiff. */
export interface HostDiff {
  readonly host: string;
  /** The site at head (at base when the host has no head plan). */
  readonly site: Site;
  /** Sorted by action id. */
  readonly added: readonly ActionSummary[];
  readonly removed: readonly ActionSummary[];
  readonly changed: readonly ChangedAction[];
  /** Head actions that are not-applicable now but were applicable (or absent) at base. */
  readonly becameNotApplicable: readonly ActionSummary[];
  /** The content sources changed (e.g. the host moved to another relay): both, as `relay osaka, controller`. */
  readonly sources?: { readonly before: string; readonly after: string };
  /** The host is in only one of the two fleet plans. */
  readonly presence?: 'added' | 'removed';
  /** Bytes of new content this host will download (see `transferBytes`). */
  readonly bytes: number;
}

/** Per deployment: how many hosts and actions change, and the bytes to transfer. */
export interface DeploymentSummary {
  readonly deployment: string;
  /** Hosts with at least one added, removed or changed action of this deployment, sorted. */
  readonly hosts: readonly string[];
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly becameNotApplicable: number;
  readonly bytes: number;
}

/** Per relay/site: which of its hosts change, and the bytes to transfer. */
export interface SiteSummary {
  readonly site: Site;
  /** Hosts served through this site in the head plan (all of them, changed or not). */
  readonly hostCount: number;
  /** Hosts of this site whose plan changes, sorted. */
  readonly hosts: readonly string[];
  /** Sum over hosts: what the hosts download. */
  readonly bytes: number;
  /** Each distinct artifact once: what reaches a relay from the controller. */
  readonly distinctBytes: number;
}

/** The whole difference between two fleet plans; every list is sorted (hosts, ids, names). */
export interface FleetDiff {
  /** Hosts in either plan. */
  readonly hostCount: number;
  readonly hosts: readonly HostDiff[];
  readonly deployments: readonly DeploymentSummary[];
  /** Relays by name, then `controller (direct)`. */
  readonly sites: readonly SiteSummary[];
  readonly totals: {
    readonly hosts: number;
    readonly added: number;
    readonly removed: number;
    readonly changed: number;
    readonly becameNotApplicable: number;
    readonly bytes: number;
  };
}
