/** What a host reports installed, by package name, built once per inventory. */
import semver from 'semver';
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

/** Does the host report `name` at exactly `version` (any source)? */
export function reportsInstalled(inv: Inventory, name: string, version: string): boolean {
  return softwareByName(inv).get(name)?.some((s) => s.version === version) ?? false;
}

const coerced = new Map<string, semver.SemVer | null>();

/** A reported version as semver, loose forms (`3.11.2-1`, `1.2`) coerced; null when it is not a version. */
export function asSemver(version: string): semver.SemVer | null {
  let v = coerced.get(version);
  if (v === undefined) {
    v = semver.coerce(version, { loose: true });
    if (coerced.size > 50_000) coerced.clear();
    coerced.set(version, v);
  }
  return v;
}
