/** Which hosts the fleet has: every name any input mentions. */
import type { Snapshot } from '../manifest/types.js';
import type { Inventory } from '../plan/types.js';

/**
 * Inventoried hosts (by name) ∪ Host manifests ∪ static hosts of groups and deployment targets ∪ `extra`
 * (the planner passes hosts Ferry has installed on, so they can get onLeave uninstalls). Sorted.
 */
export function fleetHosts(snapshot: Snapshot, inventoried: Iterable<string>, extra: Iterable<string> = []): readonly string[] {
  const names = new Set<string>(inventoried);
  for (const name of snapshot.hosts.keys()) names.add(name);
  for (const group of snapshot.groups.values()) for (const h of group.spec.hosts) names.add(h);
  for (const dep of snapshot.deployments.values()) for (const h of dep.spec.targets.hosts) names.add(h);
  for (const h of extra) names.add(h);
  return [...names].sort();
}

/** One inventory per host; when a host appears twice the choice does not depend on array order. */
export function inventoryIndex(inventories: readonly Inventory[]): ReadonlyMap<string, Inventory> {
  const byHost = new Map<string, Inventory>();
  for (const inv of inventories) if (replaces(byHost.get(inv.host), inv)) byHost.set(inv.host, inv);
  return byHost;
}

/** Whether `inv` is the one inventoryIndex keeps over `seen`, an earlier one of the same host. */
export function replaces(seen: Inventory | undefined, inv: Inventory): boolean {
  return seen === undefined || JSON.stringify(inv) > JSON.stringify(seen);
}
