/** Compares two fleet plans host by host and sums the changes per deployment and per relay/site. */
import type { ContentSource, HostPlan, PlanAction } from '../plan/types.js';
import { describeSources } from './describe.js';
import { diffAction, summarise, transferBytes } from './diff-action.js';
import { sameValue } from './same-value.js';
import type { ActionSummary, ChangedAction, DeploymentSummary, FleetDiff, FleetPlans, HostDiff, Site, SiteSummary } from './types.js';

/** Plain code-unit order, so output never depends on the locale. */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Display name of the site of hosts that fetch straight from the controller. */
export const directSite = 'controller (direct)';

/** The site a host's content comes through: its first relay source, else the controller. */
export function siteOf(sources: readonly ContentSource[]): Site {
  const relay = sources.find((s) => s.kind === 'relay');
  return relay ? { relay: relay.name, name: relay.name } : { name: directSite };
}

interface Pair {
  readonly before?: PlanAction;
  readonly after?: PlanAction;
}

/** Pairs base and head actions: by id first, then by deployment, package and operation (a version change). */
function pairActions(before: readonly PlanAction[], after: readonly PlanAction[]): Pair[] {
  const sortById = (list: readonly PlanAction[]): PlanAction[] => [...list].sort((a, b) => byText(a.id, b.id));
  const afterById = new Map(sortById(after).map((a) => [a.id, a]));
  const pairs: Pair[] = [];
  const unmatchedBefore: PlanAction[] = [];
  for (const b of sortById(before)) {
    const a = afterById.get(b.id);
    if (a) {
      pairs.push({ before: b, after: a });
      afterById.delete(b.id);
    } else unmatchedBefore.push(b);
  }
  const key = (a: PlanAction): string => `${a.deployment}\u0000${a.package}\u0000${a.op}`;
  const waiting = new Map<string, PlanAction[]>();
  for (const a of afterById.values()) {
    const list = waiting.get(key(a)) ?? [];
    list.push(a);
    waiting.set(key(a), list);
  }
  for (const b of unmatchedBefore) {
    const a = waiting.get(key(b))?.shift();
    pairs.push(a ? { before: b, after: a } : { before: b });
  }
  for (const list of waiting.values()) for (const a of list) pairs.push({ after: a });
  return pairs;
}

const emptyPlan = (host: string): HostPlan => ({ host, sources: [], actions: [] });

/** One artifact a host will download because of the change. */
interface Transfer {
  readonly deployment: string;
  readonly sha256: string;
  readonly size: number;
}

interface HostResult {
  readonly diff: HostDiff;
  readonly transfers: readonly Transfer[];
}

/** The difference of one host's plans, or undefined when nothing a reviewer would see changes. */
function compareHost(host: string, before: HostPlan | undefined, after: HostPlan | undefined): HostResult | undefined {
  const base = before ?? emptyPlan(host);
  const head = after ?? emptyPlan(host);
  const added: ActionSummary[] = [];
  const removed: ActionSummary[] = [];
  const changed: ChangedAction[] = [];
  const becameNotApplicable: ActionSummary[] = [];
  const transfers: Transfer[] = [];
  for (const { before: b, after: a } of pairActions(base.actions, head.actions)) {
    if (a) {
      const size = transferBytes(b, a);
      if (size > 0) transfers.push({ deployment: a.deployment, sha256: a.artifact.sha256, size });
      if (a.status === 'not-applicable' && b?.status !== 'not-applicable') becameNotApplicable.push(summarise(a));
    }
    if (a && b) {
      const changes = diffAction(b, a);
      if (changes.length > 0) changed.push({ before: summarise(b), after: summarise(a), changes });
    } else if (a) added.push(summarise(a));
    else if (b) removed.push(summarise(b));
  }
  const sourcesChanged = after !== undefined && before !== undefined && !sameValue(before.sources, after.sources);
  if (added.length + removed.length + changed.length === 0 && !sourcesChanged) return undefined;
  const sortById = <T extends { id: string }>(list: T[]): T[] => list.sort((x, y) => byText(x.id, y.id));
  const diff: HostDiff = {
    host,
    site: siteOf((after ?? base).sources),
    added: sortById(added),
    removed: sortById(removed),
    changed: changed.sort((x, y) => byText(x.after.id, y.after.id)),
    becameNotApplicable: sortById(becameNotApplicable),
    ...(sourcesChanged ? { sources: { before: describeSources(base.sources), after: describeSources(head.sources) } } : {}),
    bytes: transfers.reduce((n, t) => n + t.size, 0),
  };
  return { diff, transfers };
}

/** How one host's plan changes, or undefined when it does not. */
export function diffHost(host: string, before: HostPlan | undefined, after: HostPlan | undefined): HostDiff | undefined {
  return compareHost(host, before, after)?.diff;
}

/** Per-deployment counts and bytes over every changed host. */
function summariseDeployments(results: readonly HostResult[]): DeploymentSummary[] {
  const tallies = new Map<string, { hosts: Set<string>; added: number; removed: number; changed: number; becameNotApplicable: number; bytes: number }>();
  const tally = (name: string, host: string) => {
    let t = tallies.get(name);
    if (!t) tallies.set(name, (t = { hosts: new Set(), added: 0, removed: 0, changed: 0, becameNotApplicable: 0, bytes: 0 }));
    t.hosts.add(host);
    return t;
  };
  for (const { diff: h, transfers } of results) {
    for (const a of h.added) tally(a.deployment, h.host).added += 1;
    for (const r of h.removed) tally(r.deployment, h.host).removed += 1;
    for (const c of h.changed) tally(c.after.deployment, h.host).changed += 1;
    for (const n of h.becameNotApplicable) tally(n.deployment, h.host).becameNotApplicable += 1;
    for (const t of transfers) tally(t.deployment, h.host).bytes += t.size;
  }
  return [...tallies.entries()]
    .sort(([a], [b]) => byText(a, b))
    .map(([deployment, t]) => ({
      deployment,
      hosts: [...t.hosts].sort(byText),
      added: t.added,
      removed: t.removed,
      changed: t.changed,
      becameNotApplicable: t.becameNotApplicable,
      bytes: t.bytes,
    }));
}

/** Per-site hosts and bytes; `distinctBytes` counts each artifact once per site. */
function summariseSites(results: readonly HostResult[], siteOfHost: ReadonlyMap<string, Site>): SiteSummary[] {
  const hostCounts = new Map<string, number>();
  for (const site of siteOfHost.values()) hostCounts.set(site.name, (hostCounts.get(site.name) ?? 0) + 1);
  const sites = new Map<string, { site: Site; hosts: string[]; bytes: number; artifacts: Map<string, number> }>();
  for (const { diff: h, transfers } of results) {
    let s = sites.get(h.site.name);
    if (!s) sites.set(h.site.name, (s = { site: h.site, hosts: [], bytes: 0, artifacts: new Map() }));
    s.hosts.push(h.host);
    s.bytes += h.bytes;
    for (const t of transfers) s.artifacts.set(t.sha256, t.size);
  }
  const order = (s: Site): string => (s.relay === undefined ? `1${s.name}` : `0${s.name}`);
  return [...sites.values()]
    .sort((a, b) => byText(order(a.site), order(b.site)))
    .map((s) => ({
      site: s.site,
      hostCount: hostCounts.get(s.site.name) ?? 0,
      hosts: s.hosts.sort(byText),
      bytes: s.bytes,
      distinctBytes: [...s.artifacts.values()].reduce((sum, n) => sum + n, 0),
    }));
}

/**
 * What changes from `base` to `head`: per host (only hosts whose plan changes), per deployment and per
 * relay/site. Pure and deterministic: the same plans give the same diff whatever the map orders.
 */
export function diffFleetPlans(base: FleetPlans, head: FleetPlans): FleetDiff {
  const names = [...new Set([...base.plans.keys(), ...head.plans.keys()])].sort(byText);
  const results: HostResult[] = [];
  const siteOfHost = new Map<string, Site>();
  for (const name of names) {
    const before = base.plans.get(name);
    const after = head.plans.get(name);
    siteOfHost.set(name, siteOf((after ?? before)?.sources ?? []));
    const result = compareHost(name, before, after);
    if (result) results.push(result);
  }
  const hosts = results.map((r) => r.diff);
  const sum = (f: (h: HostDiff) => number): number => hosts.reduce((n, h) => n + f(h), 0);
  return {
    hostCount: names.length,
    hosts,
    deployments: summariseDeployments(results),
    sites: summariseSites(results, siteOfHost),
    totals: {
      hosts: hosts.length,
      added: sum((h) => h.added.length),
      removed: sum((h) => h.removed.length),
      changed: sum((h) => h.changed.length),
      becameNotApplicable: sum((h) => h.becameNotApplicable.length),
      bytes: sum((h) => h.bytes),
    },
  };
}
