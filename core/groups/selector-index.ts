/**
 * Selector matching over a whole fleet: each label or fact path a selector uses is indexed once
 * (value → hosts), so a selector costs the size of its smallest candidate list, not the fleet.
 * Labels are the agent's merged with the Host manifest's (the manifest wins); a host with no
 * inventory matches no selector.
 */
import type { GroupSpec, HostResource } from '../manifest/types.js';
import type { Inventory } from '../plan/types.js';
import { acceptedValues, factKeys, readFact } from './fact-path.js';

type Selector = NonNullable<GroupSpec['selector']>;

interface Term {
  readonly key: string; // 'l:dept' or 'f:os.platform'
  readonly values: ReadonlySet<string>;
}

/** Keys a host is known by for one label or fact path. */
export function hostKeysFor(key: string, inv: Inventory, manifest: HostResource | undefined): readonly string[] {
  if (key.startsWith('l:')) {
    const label = key.slice(2);
    const value = manifest?.spec.labels[label] ?? inv.labels[label];
    return value === undefined ? [] : [value];
  }
  return factKeys(readFact(inv.facts, key.slice(2)));
}

function terms(selector: Selector): readonly Term[] {
  const out: Term[] = [];
  for (const label of Object.keys(selector.labels).sort()) out.push({ key: `l:${label}`, values: new Set([selector.labels[label]!]) });
  for (const path of Object.keys(selector.facts).sort()) out.push({ key: `f:${path}`, values: acceptedValues(selector.facts[path]!) });
  return out;
}

/** Does one host match a selector (all keys; a list value means any of)? */
export function selectorMatches(selector: Selector, inv: Inventory | undefined, manifest: HostResource | undefined): boolean {
  if (inv === undefined) return false;
  return terms(selector).every((t) => hostKeysFor(t.key, inv, manifest).some((k) => t.values.has(k)));
}

/** Matches selectors against a fleet, indexing each key on first use. */
export class SelectorIndex {
  private readonly indexes = new Map<string, Map<string, string[]>>();
  private readonly inventoried: readonly string[];

  constructor(
    private readonly inventories: ReadonlyMap<string, Inventory>,
    private readonly manifests: ReadonlyMap<string, HostResource>,
  ) {
    this.inventoried = [...inventories.keys()].sort();
  }

  /** Hosts matching the selector, in name order. */
  match(selector: Selector): readonly string[] {
    const ts = terms(selector);
    if (ts.length === 0) return this.inventoried;
    let best: { term: Term; hosts: string[] } | undefined;
    for (const term of ts) {
      const index = this.index(term.key);
      const hosts: string[] = [];
      for (const v of term.values) hosts.push(...(index.get(v) ?? []));
      if (best === undefined || hosts.length < best.hosts.length) best = { term, hosts };
    }
    const rest = ts.filter((t) => t !== best!.term);
    const out = new Set<string>();
    for (const host of best!.hosts) {
      const inv = this.inventories.get(host)!;
      const manifest = this.manifests.get(host);
      if (rest.every((t) => hostKeysFor(t.key, inv, manifest).some((k) => t.values.has(k)))) out.add(host);
    }
    return [...out].sort();
  }

  private index(key: string): ReadonlyMap<string, string[]> {
    let index = this.indexes.get(key);
    if (index === undefined) {
      index = new Map();
      for (const host of this.inventoried) {
        for (const k of new Set(hostKeysFor(key, this.inventories.get(host)!, this.manifests.get(host)))) {
          const list = index.get(k);
          if (list === undefined) index.set(k, [host]);
          else list.push(host);
        }
      }
      this.indexes.set(key, index);
    }
    return index;
  }
}
