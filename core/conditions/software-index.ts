/** What a host reports installed, by package name, built once per inventory. */
import type { Inventory, SoftwareItem } from '../plan/types.js';

const indexes = new WeakMap<Inventory, ReadonlyMap<string, readonly SoftwareItem[]>>();

/** Name → reported items (several versions may be installed side by side). */
export function softwareByName(inv: Inventory): ReadonlyMap<string, readonly SoftwareItem[]> {
  let index = indexes.get(inv);
  if (index === undefined) {
    const map = new Map<string, SoftwareItem[]>();
    for (const item of inv.software) {
      const list = map.get(item.name);
      if (list === undefined) map.set(item.name, [item]);
      else list.push(item);
    }
    index = map;
    indexes.set(inv, index);
  }
  return index;
}

/** Lists this short are scanned rather than indexed (an index per host costs more than it saves). */
const SCAN = 16;
const NONE: readonly SoftwareItem[] = Object.freeze([]);

/** The reported items named `name`, in reported order. */
export function softwareNamed(inv: Inventory, name: string): readonly SoftwareItem[] {
  const all = inv.software;
  if (all.length > SCAN) return softwareByName(inv).get(name) ?? NONE;
  let found: SoftwareItem[] | undefined;
  for (const item of all) if (item.name === name) (found ??= []).push(item);
  return found ?? NONE;
}

/** Does the host report anything named `name`? */
export function reportsName(inv: Inventory, name: string): boolean {
  return softwareNamed(inv, name).length > 0;
}

/** Does the host report `name` at exactly `version` (any source)? */
export function reportsInstalled(inv: Inventory, name: string, version: string): boolean {
  return softwareNamed(inv, name).some((s) => s.version === version);
}
