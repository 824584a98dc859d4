/**
 * Incremental planning (issue 3 item 4): compares the previous inputs with the next ones at the
 * level of resources, inventories, installed records and rollout state, marks the hosts whose
 * plan inputs changed, and re-plans only those; everything else keeps its previous plan object
 * (and so its remembered hash). The result equals planFleet on the next inputs.
 */
import { hostGroups, hostMembership, inventoryIndex, readFact, replaces, resolveGroupsIndexed } from '../groups/index.js';
import { fleetHosts } from '../groups/host-universe.js';
import type { Snapshot } from '../manifest/types.js';
import type { HostPlan, Inventory } from '../plan/types.js';
import { utcDayStart } from '../schedules/index.js';
import { canonicalJson } from './canonical-json.js';
import { installedByHostOf, invertTargets, lazy, rolloutFor, stateOf, targetsOf, type FleetState } from './fleet-state.js';
import { finish, hostsPerStep, planFleetSteps, planOneHost, runSteps } from './plan-fleet.js';
import { affectedPackages, changedNames, trustPatterns } from './snapshot-changes.js';
import { PlanSharing } from './plan-sharing.js';
import { DEFAULT_CONTROLLER, SourceTable } from './sources.js';
import { WindowCache, type ActionTemplate } from './templates.js';
import { isList, type FleetPlan, type Inventories, type InstalledRecord, type PlanningContext } from './types.js';
import type { Rollout } from './waves.js';
import { SortedPlans, VersionedMap, VersionedSet } from './versioned-map.js';

interface Inputs {
  readonly snapshot: Snapshot;
  readonly inventories: Inventories;
  readonly ctx: PlanningContext;
}

interface NextInputs extends Inputs {
  /**
   * The hosts whose inventory may differ from `previous.inventories` (the others are the same
   * objects): only they are compared. Absent: every inventory is, by identity first.
   */
  readonly changed?: ReadonlySet<string>;
}

/** Re-plans only hosts whose inputs changed; `replanned` lists them (and hosts that left the fleet), sorted. */
export function replan(previous: Inputs & { readonly result: FleetPlan }, next: NextInputs): { result: FleetPlan; replanned: readonly string[] } {
  return runSteps(replanSteps(previous, next));
}

/** replan as steps (see planFleetSteps): returns exactly what replan returns. */
export function* replanSteps(previous: Inputs & { readonly result: FleetPlan }, next: NextInputs): Generator<void, { result: FleetPlan; replanned: readonly string[] }> {
  const prev = stateOf(previous.result);
  const controller = next.ctx.controllerSource ?? DEFAULT_CONTROLLER;
  const unavailable = (ctx: PlanningContext) => canonicalJson([...(ctx.unavailable ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  // Chunk hashes of an artifact never change (content-addressed): which artifacts have them is the input.
  const chunked = (ctx: PlanningContext) => [...(ctx.chunks?.keys() ?? [])].sort().join(',');
  // Content availability changes rarely (a revision, a push): plan everything again then.
  const contentChanged = prev !== undefined && (unavailable(next.ctx) !== unavailable(prev.ctx) || chunked(next.ctx) !== chunked(prev.ctx));
  if (prev === undefined || contentChanged || utcDayStart(next.ctx.now) !== prev.dayStart || canonicalJson(controller) !== canonicalJson(prev.controller)) {
    const result = yield* planFleetSteps(next.snapshot, next.inventories, next.ctx);
    return { result, replanned: [...new Set([...result.plans.keys(), ...previous.result.plans.keys()])].sort() };
  }
  // `changed` is relative to the previous inputs: usable only if they are what `prev` was made from.
  return yield* incremental(prev, previous.result, next, previous.inventories === prev.given ? next.changed : undefined, controller);
}

function* incremental(
  prev: FleetState,
  prevResult: FleetPlan,
  next: Inputs,
  changed: ReadonlySet<string> | undefined,
  controller: FleetState['controller'],
): Generator<void, { result: FleetPlan; replanned: readonly string[] }> {
  const before = prev.snapshot;
  const snap = next.snapshot;
  const dirty = new Set<string>();
  const markAll = (hosts: Iterable<string> | undefined) => {
    for (const h of hosts ?? []) dirty.add(h);
  };

  const changedGroups = changedNames(before.groups, snap.groups);
  const changedHostManifests = changedNames(before.hosts, snap.hosts);
  const changedRelays = changedNames(before.relays, snap.relays);
  const changedDeployments = changedNames(before.deployments, snap.deployments);
  const changedConditions = changedNames(before.conditions, snap.conditions);
  const changedSchedules = changedNames(before.schedules, snap.schedules);
  const packages = affectedPackages(before, snap, changedConditions, changedSchedules, trustPatterns(before, snap));

  // Inventories: by identity first, content second.
  const given = next.inventories;
  const appended = given === prev.given || !isList(given) || !isList(prev.given) ? undefined : appendedTo(prev.given, given);
  const inventories = given === prev.given ? prev.inventories : !isList(given) ? given : appended !== undefined ? indexAppended(prev.inventories, appended) : inventoryIndex(given);
  const changedInventories = new Set<string>();
  if (inventories !== prev.inventories) {
    const differs = (host: string) => {
      const inv = inventories.get(host);
      const old = prev.inventories.get(host);
      return old !== inv && (old === undefined || inv === undefined || canonicalJson(old) !== canonicalJson(inv));
    };
    // Appended inventories, or the hosts the caller says changed: only they can differ.
    const candidates = appended?.map((inv) => inv.host) ?? changed;
    for (const host of candidates ?? inventories.keys()) if (differs(host)) changedInventories.add(host);
    if (candidates === undefined) for (const host of prev.inventories.keys()) if (!inventories.has(host)) changedInventories.add(host);
  }
  markAll(changedInventories);
  // Whether the inventoried hosts are the same names (a host whose inventory came or went changed).
  const sameInventoried = [...changedInventories].every((h) => prev.inventories.has(h) === inventories.has(h));
  // Hosts whose labels or selector facts changed: the only ones whose group membership can move.
  const movers = [...changedInventories].filter((h) => selectorView(before, prev.inventories.get(h)) !== selectorView(snap, inventories.get(h)));
  const regroup = changedGroups.size > 0 || changedHostManifests.size > 0 || movers.length > 0;
  // Same groups and Host manifests: membership is patched for the movers alone (work ∝ hosts that changed).
  const patchGroups = regroup && changedGroups.size === 0 && changedHostManifests.size === 0 && acyclic(snap);

  // Installed records: of the hosts the next version of the map changed, or of every host. Whether
  // the fleet's host names stay: a first record went to a host already named, and a host that lost
  // its last one is inventoried.
  let installedByHost = prev.installedByHost;
  let installedKeepHosts = true;
  if (next.ctx.installed !== prev.ctx.installed) {
    installedByHost = installedByHostOf(next.ctx.installed);
    const candidates = installedByHost instanceof VersionedMap ? installedByHost.changedSince(prev.installedByHost) : undefined;
    for (const host of candidates ?? new Set([...installedByHost.keys(), ...prev.installedByHost.keys()])) {
      const before = prev.installedByHost.get(host);
      const after = installedByHost.get(host);
      if (before === after) continue;
      if ((before === undefined && !has(prev.hosts, host)) || (after === undefined && !inventories.has(host))) installedKeepHosts = false;
      if (!sameRecords(before, after ?? [])) dirty.add(host);
    }
  }

  // The fleet's host names.
  const same = sameInventoried && installedKeepHosts && sameStaticNames(prev.snapshot, snap);
  const joined = same ? undefined : onlyInventoriesAdded(prev, snap, inventories, installedKeepHosts, changedInventories);
  const hosts = joined?.hosts ?? (same ? prev.hosts : fleetHosts(snap, inventories.keys(), installedByHost.keys()));
  if (joined !== undefined) {
    // Only hosts that sent a first inventory joined: they alone are new (and dirty already).
    markAll(joined.added);
  } else if (hosts !== prev.hosts) {
    const now = new Set(hosts);
    for (const h of hosts) if (!prev.groupsOfHost().has(h) && !prev.deploymentsOfHost.has(h)) dirty.add(h);
    for (const h of prev.hosts) if (!now.has(h)) dirty.add(h);
    for (const h of now) if (!prevResult.plans.has(h)) dirty.add(h);
  }

  // Groups and their hosts.
  let groups = prev.groups;
  let groupsOfHost = prev.groupsOfHost;
  if (patchGroups) {
    groups = patchMembership(prev.groups, snap, prev.inventories, inventories, movers);
    groupsOfHost = hostGroupsOf(groups);
    // Only the movers' groups changed, and they are dirty already.
  } else if (regroup) {
    groups = resolveGroupsIndexed(snap, inventories);
    const before = prev.groupsOfHost();
    const after = hostGroups(groups);
    groupsOfHost = constant(after);
    for (const [h, gs] of after) if (before.get(h)?.join('\0') !== gs.join('\0')) dirty.add(h);
    for (const h of before.keys()) if (!after.has(h)) dirty.add(h);
  }

  // Targets, rollouts and dirty deployments.
  const targets = new Map<string, ReadonlySet<string>>();
  const rollouts = new Map<string, Rollout>();
  const dirtyDeployments = new Set<string>();
  const retargeted: string[] = [];
  for (const name of [...snap.deployments.keys()].sort()) {
    const dep = snap.deployments.get(name)!;
    const oldTargets = prev.targets.get(name);
    const t = regroup || changedDeployments.has(name) || oldTargets === undefined ? targetsOf(snap, groups, name) : oldTargets;
    const sameTargets = oldTargets !== undefined && (t === oldTargets || sameSet(t, oldTargets));
    const tt = sameTargets ? oldTargets : t;
    targets.set(name, tt);
    if (!sameTargets) retargeted.push(name);
    const old = prev.rollouts.get(name);
    const sameProgress =
      prev.ctx.rollout?.get(name) === next.ctx.rollout?.get(name) &&
      (prev.ctx.suspended?.has(name) ?? false) === (next.ctx.suspended?.has(name) ?? false) &&
      (prev.ctx.resumed?.has(name) ?? false) === (next.ctx.resumed?.has(name) ?? false);
    let r: Rollout;
    if (old !== undefined && sameTargets && sameProgress && !changedDeployments.has(name)) r = old;
    else
      r = rolloutFor(
        snap,
        next.ctx,
        name,
        tt,
        sameTargets && old !== undefined && dep.spec.rollout !== undefined && before.deployments.get(name)?.spec.rollout !== undefined
          ? old.outcome.hosts
          : // Without a rollout the order is by name; after a patch only movers joined or left.
            patchGroups && old !== undefined && !changedDeployments.has(name) && dep.spec.rollout === undefined && before.deployments.get(name)?.spec.rollout === undefined
            ? reordered(old.outcome.hosts, tt, movers)
            : undefined,
        old,
      );
    rollouts.set(name, r);
    const usesChangedPackage = dep.spec.packages.some((p) => packages.has(p.name));
    const usesChangedSchedule = [dep.spec.distribute.window, dep.spec.install.window].some((s) => s !== undefined && changedSchedules.has(s));
    const rolloutMoved = old === undefined || (r !== old && !sameOutcome(old, r, dep.spec.rollout === undefined));
    if (changedDeployments.has(name) || usesChangedPackage || usesChangedSchedule || rolloutMoved) dirtyDeployments.add(name);
    // After a patch, only the movers can have joined or left a deployment, and they are dirty already.
    else if (!sameTargets && !patchGroups) for (const h of symmetricDifference(tt, oldTargets ?? new Set())) dirty.add(h);
  }
  for (const name of changedDeployments) if (!snap.deployments.has(name)) dirtyDeployments.add(name);
  for (const name of dirtyDeployments) {
    markAll(prev.targets.get(name));
    markAll(targets.get(name));
  }
  if (dirtyDeployments.size > 0 || packages.size > 0) {
    for (const records of installedByHost.values()) for (const r of records) if (dirtyDeployments.has(r.deployment) || packages.has(r.package)) dirty.add(r.host);
  }
  const deploymentsOfHost =
    retargeted.length === 0 && !changedDeployments.size
      ? prev.deploymentsOfHost
      : patchGroups && changedDeployments.size === 0
        ? inverseForHosts(prev.deploymentsOfHost, targets, movers)
        : patchInverse(prev, targets, retargeted, changedDeployments, regroup && !patchGroups);

  // Sources and templates.
  const sourcesMoved = changedRelays.size > 0 || (regroup && (!patchGroups || snap.relays.size > 0));
  const sources = sourcesMoved ? new SourceTable(snap, groups, controller) : prev.sources;
  // After a patch, only the movers can be served by other relays, and they are dirty already.
  if (sources !== prev.sources && !(patchGroups && changedRelays.size === 0)) {
    const key = (s: SourceTable, h: string) =>
      s
        .sourcesOf(h)
        .map((x) => `${x.name}\0${x.url ?? ''}`)
        .join('\0');
    for (const h of hosts) if (!dirty.has(h) && key(sources, h) !== key(prev.sources, h)) dirty.add(h);
  }
  const windows = changedSchedules.size > 0 ? new WindowCache(prev.dayStart) : prev.windows;
  const templates = new Map<string, readonly ActionTemplate[]>();
  for (const [name, t] of prev.templates) if (!dirtyDeployments.has(name) && snap.deployments.has(name)) templates.set(name, t);
  const leaveTemplates = new Map<string, ActionTemplate>();
  for (const [key, t] of prev.leaveTemplates) if (!dirtyDeployments.has(t.deployment) && !packages.has(t.package)) leaveTemplates.set(key, t);

  const state: FleetState = {
    snapshot: snap,
    given,
    ctx: next.ctx,
    dayStart: prev.dayStart,
    controller,
    inventories,
    installedByHost,
    hosts,
    groups,
    groupsOfHost,
    targets,
    deploymentsOfHost,
    rollouts,
    sources,
    windows,
    templates,
    leaveTemplates,
    sharing: new PlanSharing(),
  };
  yield;
  let plans: ReadonlyMap<string, HostPlan>;
  let n = 0;
  const previousPlans = prevResult.plans instanceof SortedPlans ? (prevResult.plans.byHost as VersionedMap<HostPlan>) : undefined;
  const added = hosts === prev.hosts && prevResult.plans.size === hosts.length ? new Set<string>() : joined !== undefined ? new Set(joined.added) : undefined;
  if (previousPlans !== undefined && added !== undefined) {
    // The previous hosts, maybe with some joined: the previous plans with the dirty ones replaced.
    const changes = new Map<string, HostPlan>();
    for (const h of dirty) {
      if (previousPlans.has(h) || added.has(h)) changes.set(h, planOneHost(state, h));
      if (++n % hostsPerStep === 0) yield;
    }
    plans = new SortedPlans(hosts, previousPlans.with(changes));
  } else {
    const all = new Map<string, HostPlan>();
    for (const h of hosts) {
      all.set(h, dirty.has(h) ? planOneHost(state, h) : (prevResult.plans.get(h) ?? planOneHost(state, h)));
      if (++n % hostsPerStep === 0) yield;
    }
    plans = all;
  }
  return { result: finish(state, plans), replanned: [...dirty].sort() };
}

/** The fact paths the snapshot's selectors read, group by group in name order: made once per snapshot. */
const selectorFactPaths = new WeakMap<Snapshot, readonly string[]>();

/** Labels and the fact paths selectors use: what decides a host's dynamic group membership. */
function selectorView(snap: Snapshot, inv: Inventory | undefined): string {
  if (inv === undefined) return '';
  let paths = selectorFactPaths.get(snap);
  if (paths === undefined) {
    const found: string[] = [];
    for (const name of [...snap.groups.keys()].sort()) {
      const sel = snap.groups.get(name)!.spec.selector;
      if (sel !== undefined) found.push(...Object.keys(sel.facts).sort());
    }
    paths = found;
    selectorFactPaths.set(snap, paths);
  }
  const facts: unknown[] = [];
  for (const path of paths) facts.push(path, readFact(inv.facts, path) ?? null);
  return canonicalJson({ labels: inv.labels, facts });
}

function sameRecords(a: readonly InstalledRecord[] | undefined, b: readonly InstalledRecord[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return a.every((r, i) => r === b[i]) || canonicalJson(a) === canonicalJson(b);
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function* symmetricDifference(a: ReadonlySet<string>, b: ReadonlySet<string>): Generator<string> {
  for (const x of a) if (!b.has(x)) yield x;
  for (const x of b) if (!a.has(x)) yield x;
}

function sameOutcome(a: Rollout, b: Rollout, noRollout: boolean): boolean {
  const x = a.outcome;
  const y = b.outcome;
  if (x.currentWave !== y.currentWave || x.waves !== y.waves || x.suspended !== y.suspended || x.selfSuspended !== y.selfSuspended) return false;
  if (noRollout) return true;
  return x.hosts === y.hosts || (x.hosts.length === y.hosts.length && x.hosts.every((h, i) => h === y.hosts[i]) && x.waveEnds.join() === y.waveEnds.join());
}

/** Whether two snapshots name the same hosts (Host manifests, static group members and deployment targets). */
function sameStaticNames(before: Snapshot, snap: Snapshot): boolean {
  if (before.hosts === snap.hosts && before.groups === snap.groups && before.deployments === snap.deployments) return true;
  const staticNames = (s: Snapshot) => {
    const names: string[] = [...s.hosts.keys()];
    for (const g of s.groups.values()) names.push(...g.spec.hosts);
    for (const d of s.deployments.values()) names.push(...d.spec.targets.hosts);
    return [...new Set(names)].sort().join('\0');
  };
  return staticNames(before) === staticNames(snap);
}

/** Host → deployments, updated for the deployments whose targets changed (or rebuilt after regrouping). */
function patchInverse(
  prev: FleetState,
  targets: ReadonlyMap<string, ReadonlySet<string>>,
  retargeted: readonly string[],
  changed: ReadonlySet<string>,
  regroup: boolean,
): ReadonlyMap<string, readonly string[]> {
  if (regroup) return invertTargets(targets);
  const touched = new Set<string>(retargeted);
  for (const name of changed) if (!targets.has(name) || !prev.targets.has(name)) touched.add(name);
  if (touched.size === 0) return prev.deploymentsOfHost;
  const out = new Map(prev.deploymentsOfHost);
  for (const name of touched) {
    const before = prev.targets.get(name) ?? new Set<string>();
    const after = targets.get(name) ?? new Set<string>();
    for (const h of before) {
      if (after.has(h)) continue;
      const list = (out.get(h) ?? []).filter((d) => d !== name);
      if (list.length === 0) out.delete(h);
      else out.set(h, list);
    }
    for (const h of after) {
      if (before.has(h)) continue;
      out.set(h, [...(out.get(h) ?? []), name].sort());
    }
  }
  return out;
}

/** `sorted` (the targets before, by name) once `movers` joined or left `targets`, still by name. */
function reordered(sorted: readonly string[], targets: ReadonlySet<string>, movers: readonly string[]): readonly string[] {
  const left = new Set(movers.filter((h) => !targets.has(h)));
  const kept = left.size === 0 ? sorted : sorted.filter((h) => !left.has(h));
  return merged(kept, movers.filter((h) => targets.has(h) && !has(kept, h)).sort());
}

/**
 * Host → deployments when only `hosts` can have joined or left deployments (the deployments being
 * the same): their lists computed again, everyone else's kept.
 */
function inverseForHosts(
  before: ReadonlyMap<string, readonly string[]>,
  targets: ReadonlyMap<string, ReadonlySet<string>>,
  hosts: readonly string[],
): ReadonlyMap<string, readonly string[]> {
  const names = [...targets.keys()].sort();
  const changes = new Map<string, readonly string[] | undefined>();
  for (const h of hosts) {
    const list = names.filter((name) => targets.get(name)!.has(h));
    const old = before.get(h) ?? [];
    if (list.length === old.length && list.every((name, i) => name === old[i])) continue;
    changes.set(h, list.length === 0 ? undefined : Object.freeze(list));
  }
  return changes.size === 0 ? before : VersionedMap.from(before).with(changes);
}

/** inventoryIndex(previous list ++ appended), from the previous list's index. */
function indexAppended(index: ReadonlyMap<string, Inventory>, appended: readonly Inventory[]): ReadonlyMap<string, Inventory> {
  const changes = new Map<string, Inventory>();
  for (const inv of appended) if (replaces(changes.get(inv.host) ?? index.get(inv.host), inv)) changes.set(inv.host, inv);
  return changes.size === 0 ? index : VersionedMap.from(index).with(changes);
}

/** The inventories `next` adds after all of `previous` (the same objects, in order); undefined when it is not such an extension. */
function appendedTo(previous: readonly Inventory[], next: readonly Inventory[]): readonly Inventory[] | undefined {
  if (next.length < previous.length) return undefined;
  for (let i = 0; i < previous.length; i++) if (next[i] !== previous[i]) return undefined;
  return next.slice(previous.length);
}

/** True when no group includes or excludes itself through others (validation rejects such cycles). */
function acyclic(snap: Snapshot): boolean {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (name: string): boolean => {
    const s = state.get(name);
    if (s === 'done') return true;
    if (s === 'open') return false;
    state.set(name, 'open');
    const g = snap.groups.get(name);
    for (const next of g ? [...g.spec.include, ...g.spec.exclude] : []) if (!visit(next)) return false;
    state.set(name, 'done');
    return true;
  };
  return [...snap.groups.keys()].every(visit);
}

/**
 * Group membership after the movers' inventories changed, the groups and Host manifests being
 * the same: each mover's membership is evaluated alone (what resolveGroups decides for it) with its
 * new inventory and with its previous one (the same groups and manifests decided `groups` from it,
 * so that is the membership it had: no read of the large sets), and only the groups it joined or
 * left get a new set — the next version of a VersionedSet, costing O(movers), not a copy
 * (resolved sets are never changed).
 */
function patchMembership(
  groups: ReadonlyMap<string, ReadonlySet<string>>,
  snap: Snapshot,
  previous: ReadonlyMap<string, Inventory>,
  inventories: ReadonlyMap<string, Inventory>,
  movers: readonly string[],
): ReadonlyMap<string, ReadonlySet<string>> {
  const changes = new Map<string, Map<string, boolean>>();
  for (const host of movers) {
    const manifest = snap.hosts.get(host);
    const was = hostMembership(snap, host, previous.get(host), manifest);
    const now = hostMembership(snap, host, inventories.get(host), manifest);
    for (const name of groups.keys()) {
      const member = now(name);
      if (member === was(name)) continue;
      let group = changes.get(name);
      if (group === undefined) changes.set(name, (group = new Map()));
      group.set(host, member);
    }
  }
  if (changes.size === 0) return groups;
  const out = new Map<string, ReadonlySet<string>>();
  for (const [name, set] of groups) {
    const group = changes.get(name);
    out.set(name, group === undefined ? set : VersionedSet.from(set).with(group));
  }
  return out;
}

/**
 * The fleet's host names when the only change is hosts that sent a first inventory (same static
 * names, same installed hosts, no inventory gone): the previous sorted list with them merged in.
 * Undefined when anything else changed.
 */
function onlyInventoriesAdded(
  prev: FleetState,
  snap: Snapshot,
  inventories: ReadonlyMap<string, Inventory>,
  installedKeepHosts: boolean,
  changed: ReadonlySet<string>,
): { readonly hosts: readonly string[]; readonly added: readonly string[] } | undefined {
  if (!installedKeepHosts || snap.hosts !== prev.snapshot.hosts || snap.groups !== prev.snapshot.groups || snap.deployments !== prev.snapshot.deployments) return undefined;
  const added: string[] = [];
  for (const h of changed) {
    if (!inventories.has(h)) return undefined;
    if (!prev.inventories.has(h) && !has(prev.hosts, h)) added.push(h);
  }
  return { hosts: merged(prev.hosts, added.sort()), added };
}

/** Two sorted lists of distinct names as one sorted list (binary searches and slices: few comparisons). */
function merged(sorted: readonly string[], more: readonly string[]): readonly string[] {
  if (more.length === 0) return sorted;
  const out: string[] = [];
  let i = 0;
  for (const h of more) {
    const at = position(sorted, h);
    for (; i < at; i++) out.push(sorted[i]!);
    out.push(h);
  }
  for (; i < sorted.length; i++) out.push(sorted[i]!);
  return out;
}

/** Binary search in a sorted list. */
function has(sorted: readonly string[], x: string): boolean {
  const at = position(sorted, x);
  return at < sorted.length && sorted[at] === x;
}

/** Where `x` is, or would go, in a sorted list. */
function position(sorted: readonly string[], x: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Closures made inside `incremental` would share its scope, and so keep `prev` — and through it
// every earlier FleetState — alive for as long as the new state lives. These are made out here.

/** Host → groups of `groups`, computed on first use. */
function hostGroupsOf(groups: ReadonlyMap<string, ReadonlySet<string>>): () => ReadonlyMap<string, readonly string[]> {
  return lazy(() => hostGroups(groups));
}

function constant<T>(value: T): () => T {
  return () => value;
}
