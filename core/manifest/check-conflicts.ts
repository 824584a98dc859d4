/**
 * Deployments that ask one host for two versions or states of the same package. Membership is
 * judged from static lists only: hosts named in groups (through include) and in targets are
 * certain members; selector groups, and exclusions through them, make membership depend on
 * inventory. Certain overlap is an error, possible overlap a warning, reported on both deployments.
 */
import { entriesOf, type CheckContext, type Entry } from './check-context.js';
import type { DeploymentResource, GroupResource } from './types.js';

interface Reach {
  /** Hosts certainly targeted. */
  readonly certain: ReadonlySet<string>;
  /** Hosts that may be targeted, judged from static lists. */
  readonly possible: ReadonlySet<string>;
  /** Selector groups through which any host may be targeted. */
  readonly dynamic: ReadonlySet<string>;
}

const NONE: Reach = { certain: new Set(), possible: new Set(), dynamic: new Set() };

/** Reports conflicting deployments: errors where certain, warnings where possible. */
export function checkConflicts(ctx: CheckContext): void {
  const groups = new Map<string, GroupResource>();
  for (const g of entriesOf(ctx, 'Group')) if (!groups.has(g.resource.metadata.name)) groups.set(g.resource.metadata.name, g.resource);
  const reachOfGroup = groupReach(groups);

  const asks = new Map<string, { entry: Entry<DeploymentResource>; index: number; version: string; state: string }[]>();
  for (const e of entriesOf(ctx, 'Deployment')) {
    const seen = new Set<string>();
    e.resource.spec.packages.forEach((p, index) => {
      if (seen.has(p.name)) return;
      seen.add(p.name);
      const list = asks.get(p.name) ?? [];
      list.push({ entry: e, index, version: p.version, state: p.state });
      asks.set(p.name, list);
    });
  }

  const reachCache = new Map<Entry, Reach>();
  const reachOf = (e: Entry<DeploymentResource>): Reach => {
    let r = reachCache.get(e);
    if (r === undefined) {
      const certain = new Set(e.resource.spec.targets.hosts);
      const possible = new Set(e.resource.spec.targets.hosts);
      const dynamic = new Set<string>();
      for (const g of e.resource.spec.targets.groups) {
        const gr = reachOfGroup(g);
        gr.certain.forEach((h) => certain.add(h));
        gr.possible.forEach((h) => possible.add(h));
        gr.dynamic.forEach((d) => dynamic.add(d));
      }
      r = { certain, possible, dynamic };
      reachCache.set(e, r);
    }
    return r;
  };

  for (const [pkg, list] of [...asks].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (new Set(list.map((a) => `${a.version}\0${a.state}`)).size < 2) continue;
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.version === b.version && a.state === b.state) continue;
        const ra = reachOf(a.entry);
        const rb = reachOf(b.entry);
        const both = intersect(ra.certain, rb.certain);
        const ask = (x: typeof a) => `${pkg} ${x.version} ${x.state}`;
        const name = (x: typeof a) => x.entry.resource.metadata.name;
        /** Reports on both sides of the pair, each naming the other. */
        const reportBoth = (severity: 'error' | 'warning', message: (x: typeof a, y: typeof a) => string) => {
          for (const [x, y] of [
            [a, b],
            [b, a],
          ] as const) {
            ctx.report(x.entry, ['spec', 'packages', x.index], severity, message(x, y));
          }
        };
        if (both.length > 0) {
          const hosts = listHosts(both);
          reportBoth(
            'error',
            (x, y) =>
              `conflict: this deployment asks ${ask(x)} and deployment ${name(y)} asks ${ask(y)} on the same hosts (${hosts}); neither would be applied there — narrow the targets or align the versions`,
          );
          continue;
        }
        const dynamic = [...new Set([...ra.dynamic, ...rb.dynamic])].sort();
        const staticOverlap = intersect(ra.possible, rb.possible);
        const aReaches = ra.possible.size > 0 || ra.dynamic.size > 0;
        const bReaches = rb.possible.size > 0 || rb.dynamic.size > 0;
        if (staticOverlap.length === 0 && (dynamic.length === 0 || !aReaches || !bReaches)) continue;
        const through = dynamic.length > 0 ? `selector group${dynamic.length === 1 ? '' : 's'} ${dynamic.join(', ')}` : 'excluded groups';
        reportBoth(
          'warning',
          (x, y) =>
            `possible conflict: this deployment asks ${ask(x)} and deployment ${name(y)} asks ${ask(y)}; their targets may overlap through ${through}, and a host in both would get neither`,
        );
      }
    }
  }
}

/** Memoised reach of each group; cycles (reported elsewhere) are cut. */
function groupReach(groups: ReadonlyMap<string, GroupResource>): (name: string) => Reach {
  const done = new Map<string, Reach>();
  const busy = new Set<string>();
  const reach = (name: string): Reach => {
    const cached = done.get(name);
    if (cached !== undefined) return cached;
    const g = groups.get(name);
    if (g === undefined || busy.has(name)) return NONE;
    busy.add(name);
    const certain = new Set(g.spec.hosts);
    const possible = new Set(g.spec.hosts);
    const dynamic = new Set<string>();
    if (g.spec.selector !== undefined) dynamic.add(name);
    for (const inc of g.spec.include) {
      const r = reach(inc);
      r.certain.forEach((h) => certain.add(h));
      r.possible.forEach((h) => possible.add(h));
      r.dynamic.forEach((d) => dynamic.add(d));
    }
    let excludesAnyone = false;
    for (const exc of g.spec.exclude) {
      const r = reach(exc);
      r.possible.forEach((h) => certain.delete(h));
      r.certain.forEach((h) => possible.delete(h));
      if (r.dynamic.size > 0) excludesAnyone = true;
    }
    if (excludesAnyone) certain.clear();
    busy.delete(name);
    const result = { certain, possible, dynamic };
    done.set(name, result);
    return result;
  };
  return reach;
}

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): string[] {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  return [...small].filter((h) => large.has(h)).sort();
}

function listHosts(hosts: readonly string[]): string {
  return hosts.length <= 5 ? hosts.join(', ') : `${hosts.slice(0, 5).join(', ')} and ${hosts.length - 5} more`;
}
