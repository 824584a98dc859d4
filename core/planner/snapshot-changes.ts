/** Which resources differ between two snapshots, by kind, compared by content (not identity). */
import type { Snapshot } from '../manifest/types.js';
import { coversPackage } from '../signing/publisher.js';
import { canonicalJson } from './canonical-json.js';

interface HasSpec {
  readonly spec: unknown;
}

/** Names present in only one map, or whose spec differs. */
export function changedNames<T extends HasSpec>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>): Set<string> {
  const out = new Set<string>();
  for (const [name, a] of before) {
    const b = after.get(name);
    if (b === undefined || (a !== b && canonicalJson(a.spec) !== canonicalJson(b.spec))) out.add(name);
  }
  for (const name of after.keys()) if (!before.has(name)) out.add(name);
  return out;
}

/** Package names with any version added, removed or changed. */
export function changedPackages(before: Snapshot, after: Snapshot): Set<string> {
  const out = new Set<string>();
  const names = new Set([...before.packages.keys(), ...after.packages.keys()]);
  for (const name of names) {
    const a = before.packages.get(name);
    const b = after.packages.get(name);
    if (a === b) continue;
    if (a === undefined || b === undefined || changedNames(a, b).size > 0) out.add(name);
  }
  return out;
}

/**
 * Package names whose actions may plan differently: changed packages, users of changed conditions
 * or schedules, and everything that requires one of those, transitively (in either snapshot).
 */
export function affectedPackages(before: Snapshot, after: Snapshot, conditions: ReadonlySet<string>, schedules: ReadonlySet<string>, trust: readonly string[] = []): Set<string> {
  const affected = changedPackages(before, after);
  const requiredBy = new Map<string, Set<string>>();
  for (const snap of [before, after]) {
    for (const [name, versions] of snap.packages) {
      if (trust.length > 0 && coversPackage(trust, name)) affected.add(name);
      for (const p of versions.values()) {
        if (p.spec.conditions.some((c) => conditions.has(c))) affected.add(name);
        if (p.spec.installWindow !== undefined && schedules.has(p.spec.installWindow)) affected.add(name);
        for (const r of p.spec.requires) {
          let set = requiredBy.get(r);
          if (set === undefined) requiredBy.set(r, (set = new Set()));
          set.add(name);
        }
      }
    }
  }
  const queue = [...affected];
  while (queue.length > 0) {
    for (const user of requiredBy.get(queue.pop()!) ?? []) {
      if (!affected.has(user)) {
        affected.add(user);
        queue.push(user);
      }
    }
  }
  return affected;
}

/** The package patterns of TrustPolicies added, removed or changed between two snapshots: their packages' actions declare other publishers. */
export function trustPatterns(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const name of changedNames(before.trustPolicies, after.trustPolicies)) {
    for (const snap of [before, after]) for (const p of snap.trustPolicies.get(name)?.spec.publishers ?? []) out.push(...p.packages);
  }
  return out;
}
