/**
 * The derived inputs of a planning run, kept (privately) with its FleetPlan so `replan` can reuse
 * what did not change: group membership, targets, rollouts, templates.
 */
import { hostGroups, inventoryIndex, resolveGroupsIndexed } from '../groups/index.js';
import { fleetHosts } from '../groups/host-universe.js';
import type { Snapshot } from '../manifest/types.js';
import type { ContentSource, Inventory } from '../plan/types.js';
import { utcDayStart } from '../schedules/index.js';
import { PlanSharing } from './plan-sharing.js';
import { DEFAULT_CONTROLLER, SourceTable } from './sources.js';
import { deploymentTemplates, makeTemplate, WindowCache, type ActionTemplate } from './templates.js';
import { isList, type FleetPlan, type InstalledRecord, type InstalledRecords, type Inventories, type PlanningContext } from './types.js';
import { planRollout, type Rollout } from './waves.js';

export interface FleetState {
  readonly snapshot: Snapshot;
  /** The inventories as given (compared by identity with the next ones). */
  readonly given: Inventories;
  readonly ctx: PlanningContext;
  readonly dayStart: string;
  readonly controller: ContentSource;
  readonly inventories: ReadonlyMap<string, Inventory>;
  readonly installedByHost: ReadonlyMap<string, readonly InstalledRecord[]>;
  readonly hosts: readonly string[];
  readonly groups: ReadonlyMap<string, ReadonlySet<string>>;
  /** Host → its groups, computed on first use (only replan needs it). */
  readonly groupsOfHost: () => ReadonlyMap<string, readonly string[]>;
  readonly targets: ReadonlyMap<string, ReadonlySet<string>>;
  readonly deploymentsOfHost: ReadonlyMap<string, readonly string[]>;
  readonly rollouts: ReadonlyMap<string, Rollout>;
  readonly sources: SourceTable;
  readonly windows: WindowCache;
  readonly templates: Map<string, readonly ActionTemplate[]>;
  readonly leaveTemplates: Map<string, ActionTemplate>;
  /** Shared actions and layouts of this run (never carried over to the next). */
  readonly sharing: PlanSharing;
}

const states = new WeakMap<FleetPlan, FleetState>();

/** The state a FleetPlan was made from, when this process made it. */
export function stateOf(plan: FleetPlan): FleetState | undefined {
  return states.get(plan);
}

/** Remembers the state of a FleetPlan for replan. */
export function remember(plan: FleetPlan, state: FleetState): void {
  states.set(plan, state);
}

/** `make()`, called once on first use. */
export function lazy<T>(make: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: make() }).v;
}

/** Installed records by host: the map as it is, or a list grouped by host. */
export function installedByHostOf(installed: InstalledRecords): ReadonlyMap<string, readonly InstalledRecord[]> {
  return Array.isArray(installed) ? installedIndex(installed) : (installed as ReadonlyMap<string, readonly InstalledRecord[]>);
}

/** Installed records grouped by host, each host's records in input order. */
export function installedIndex<R extends InstalledRecord>(records: readonly R[]): ReadonlyMap<string, readonly R[]> {
  const byHost = new Map<string, R[]>();
  for (const r of records) {
    const list = byHost.get(r.host);
    if (list === undefined) byHost.set(r.host, [r]);
    else list.push(r);
  }
  return byHost;
}

/** Deployment → targeted hosts (its groups' members ∪ its hosts). */
export function targetsOf(snapshot: Snapshot, groups: ReadonlyMap<string, ReadonlySet<string>>, name: string): ReadonlySet<string> {
  const dep = snapshot.deployments.get(name)!;
  const only = dep.spec.targets.hosts.length === 0 && dep.spec.targets.groups.length === 1 ? groups.get(dep.spec.targets.groups[0]!) : undefined;
  if (only !== undefined) return only; // group sets are never changed once resolved
  const out = new Set<string>(dep.spec.targets.hosts);
  for (const g of dep.spec.targets.groups) for (const h of groups.get(g) ?? []) out.add(h);
  return out;
}

/** Host → deployments targeting it, sorted by name; hosts with the same deployments share one frozen list. */
export function invertTargets(targets: ReadonlyMap<string, ReadonlySet<string>>): ReadonlyMap<string, readonly string[]> {
  const byHost = new Map<string, readonly string[]>();
  const extended = new Map<readonly string[], Map<string, readonly string[]>>(); // list → name → list + name
  for (const name of [...targets.keys()].sort()) {
    for (const h of targets.get(name)!) {
      const list = byHost.get(h) ?? NO_DEPLOYMENTS;
      let next = extended.get(list);
      if (next === undefined) extended.set(list, (next = new Map()));
      let longer = next.get(name);
      if (longer === undefined) next.set(name, (longer = Object.freeze([...list, name])));
      byHost.set(h, longer);
    }
  }
  return byHost;
}

const NO_DEPLOYMENTS: readonly string[] = Object.freeze([]);

export function rolloutFor(snapshot: Snapshot, ctx: PlanningContext, name: string, targets: ReadonlySet<string>, previousOrder?: readonly string[], previous?: Rollout): Rollout {
  return planRollout(snapshot.deployments.get(name)!, targets, ctx.rollout?.get(name), ctx.suspended?.has(name) ?? false, previousOrder, ctx.resumed?.has(name) ?? false, previous);
}

/** Everything derived from the inputs, computed from scratch. */
export function buildState(snapshot: Snapshot, given: Inventories, ctx: PlanningContext): FleetState {
  const inventories = isList(given) ? inventoryIndex(given) : given;
  const installedByHost = installedByHostOf(ctx.installed);
  const hosts = fleetHosts(snapshot, inventories.keys(), installedByHost.keys());
  const groups = resolveGroupsIndexed(snapshot, inventories);
  const targets = new Map<string, ReadonlySet<string>>();
  const rollouts = new Map<string, Rollout>();
  for (const name of [...snapshot.deployments.keys()].sort()) {
    const t = targetsOf(snapshot, groups, name);
    targets.set(name, t);
    rollouts.set(name, rolloutFor(snapshot, ctx, name, t));
  }
  const controller = ctx.controllerSource ?? DEFAULT_CONTROLLER;
  const dayStart = utcDayStart(ctx.now);
  return {
    snapshot,
    given,
    ctx,
    dayStart,
    controller,
    inventories,
    installedByHost,
    hosts,
    groups,
    groupsOfHost: lazy(() => hostGroups(groups)),
    targets,
    deploymentsOfHost: invertTargets(targets),
    rollouts,
    sources: new SourceTable(snapshot, groups, controller),
    windows: new WindowCache(dayStart),
    templates: new Map(),
    leaveTemplates: new Map(),
    sharing: new PlanSharing(),
  };
}

/** The templates of a deployment in this state, made on first use. */
export function templatesOf(state: FleetState, name: string): readonly ActionTemplate[] {
  let t = state.templates.get(name);
  if (t === undefined) {
    t = deploymentTemplates(state.snapshot, state.windows, state.snapshot.deployments.get(name)!, state.ctx.chunks);
    state.templates.set(name, t);
  }
  return t;
}

/** The template of an onLeave uninstall in this state, made on first use. */
export function leaveTemplateOf(state: FleetState, deployment: string, pkg: string, version: string): ActionTemplate {
  const key = `${deployment}\0${pkg}\0${version}`;
  let t = state.leaveTemplates.get(key);
  if (t === undefined) {
    t = makeTemplate(state.snapshot, state.windows, deployment, state.snapshot.deployments.get(deployment), pkg, version, 'uninstall');
    state.leaveTemplates.set(key, t);
  }
  return t;
}
