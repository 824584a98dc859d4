/**
 * Group membership (DESIGN §1 Group): static hosts, transitive `include`, `selector`, and
 * `exclude` applied last (each excluded group resolved fully first). Cycles, which validation
 * rejects, are cut rather than followed. Names are iterated sorted, so map insertion order never matters.
 */
import type { GroupResource, HostResource, Snapshot } from '../manifest/types.js';
import type { Inventory } from '../plan/types.js';
import { inventoryIndex } from './host-universe.js';
import { SelectorIndex, selectorMatches } from './selector-index.js';

/** Group name → its member hosts. */
export function resolveGroups(snapshot: Snapshot, inventories: readonly Inventory[]): ReadonlyMap<string, ReadonlySet<string>> {
  return resolveGroupsIndexed(snapshot, inventoryIndex(inventories));
}

/** As resolveGroups, from inventories already indexed by host. Result keys are sorted. */
export function resolveGroupsIndexed(snapshot: Snapshot, inventories: ReadonlyMap<string, Inventory>): ReadonlyMap<string, ReadonlySet<string>> {
  const selectors = new SelectorIndex(inventories, snapshot.hosts);
  const done = new Map<string, ReadonlySet<string>>();
  const inProgress = new Set<string>();

  const resolve = (name: string): ReadonlySet<string> => {
    const cached = done.get(name);
    if (cached !== undefined) return cached;
    const group: GroupResource | undefined = snapshot.groups.get(name);
    if (group === undefined || inProgress.has(name)) return new Set();
    inProgress.add(name);
    const members = new Set<string>(group.spec.hosts);
    if (group.spec.selector !== undefined) for (const h of selectors.match(group.spec.selector)) members.add(h);
    for (const inc of [...group.spec.include].sort()) for (const h of resolve(inc)) members.add(h);
    for (const exc of [...group.spec.exclude].sort()) for (const h of resolve(exc)) members.delete(h);
    inProgress.delete(name);
    done.set(name, members);
    return members;
  };

  const result = new Map<string, ReadonlySet<string>>();
  for (const name of [...snapshot.groups.keys()].sort()) result.set(name, resolve(name));
  return result;
}

/**
 * One host's membership, by the same rules as resolveGroups, with this inventory and Host manifest:
 * a function of a group's name, each group decided once (for groups without cycles).
 */
export function hostMembership(snapshot: Snapshot, host: string, inv: Inventory | undefined, manifest: HostResource | undefined): (name: string) => boolean {
  const memo = new Map<string, boolean>();
  const inGroup = (name: string): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const g = snapshot.groups.get(name);
    let member = false;
    if (g !== undefined) {
      member = g.spec.hosts.includes(host) || (g.spec.selector !== undefined && selectorMatches(g.spec.selector, inv, manifest)) || g.spec.include.some(inGroup);
      if (member && g.spec.exclude.some(inGroup)) member = false;
    }
    memo.set(name, member);
    return member;
  };
  return inGroup;
}

/** Host → the groups it is in, sorted by name; hosts in no group are absent. */
export function hostGroups(groups: ReadonlyMap<string, ReadonlySet<string>>): ReadonlyMap<string, readonly string[]> {
  const byHost = new Map<string, string[]>();
  for (const name of [...groups.keys()].sort()) {
    for (const host of groups.get(name)!) {
      const list = byHost.get(host);
      if (list === undefined) byHost.set(host, [name]);
      else list.push(name);
    }
  }
  return byHost;
}
