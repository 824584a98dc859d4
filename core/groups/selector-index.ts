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
  /** The label's name or the fact's path (the key without its prefix). */
  readonly name: string;
  readonly label: boolean;
  readonly values: ReadonlySet<string>;
}

/** A selector's terms, made once per frozen selector object (a snapshot's resources are frozen: they never change). */
const compiled = new WeakMap<Selector, readonly Term[]>();

function terms(selector: Selector): readonly Term[] {
  const known = compiled.get(selector);
  if (known !== undefined) return known;
  const out: Term[] = [];
  for (const label of Object.keys(selector.labels).sort()) out.push({ key: `l:${label}`, name: label, label: true, values: new Set([selector.labels[label]!]) });
  for (const path of Object.keys(selector.facts).sort()) out.push({ key: `f:${path}`, name: path, label: false, values: acceptedValues(selector.facts[path]!) });
  if (Object.isFrozen(selector)) compiled.set(selector, out);
  return out;
}

/** Does the host have one of the term's accepted keys (its label, merged with the Host manifest's; or its fact)? */
function holds(term: Term, inv: Inventory, manifest: HostResource | undefined): boolean {
  if (term.label) {
    const value = manifest?.spec.labels[term.name] ?? inv.labels[term.name];
    return value !== undefined && term.values.has(value);
  }
  return factKeys(readFact(inv.facts, term.name)).some((k) => term.values.has(k));
}

/** Does one host match a selector (all keys; a list value means any of)? */
export function selectorMatches(selector: Selector, inv: Inventory | undefined, manifest: HostResource | undefined): boolean {
  if (inv === undefined) return false;
  for (const term of terms(selector)) if (!holds(term, inv, manifest)) return false;
  return true;
}

interface Entry {
  readonly host: string;
  readonly inv: Inventory;
  readonly manifest: HostResource | undefined;
}

/** Matches selectors against a fleet, indexing each key on first use (value → host positions). */
export class SelectorIndex {
  private readonly indexes = new Map<string, Map<string, number[]>>();
  private readonly inventoried: readonly string[];
  private readonly entries: readonly Entry[];

  constructor(inventories: ReadonlyMap<string, Inventory>, manifests: ReadonlyMap<string, HostResource>) {
    this.inventoried = [...inventories.keys()].sort();
    this.entries = this.inventoried.map((host) => ({ host, inv: inventories.get(host)!, manifest: manifests.get(host) }));
  }

  /** Hosts matching the selector, in name order. */
  match(selector: Selector): readonly string[] {
    const ts = terms(selector);
    if (ts.length === 0) return this.inventoried;
    let best: { term: Term; positions: readonly number[] } | undefined;
    for (const term of ts) {
      const index = this.index(term.key);
      const lists: (readonly number[])[] = [];
      for (const v of term.values) {
        const list = index.get(v);
        if (list !== undefined) lists.push(list);
      }
      // One value's list is ascending and without duplicates; several are merged.
      const positions = lists.length <= 1 ? (lists[0] ?? []) : [...new Set(([] as number[]).concat(...lists))].sort((a, b) => a - b);
      if (best === undefined || positions.length < best.positions.length) best = { term, positions };
    }
    const rest = ts.filter((t) => t !== best!.term);
    const out: string[] = [];
    for (const p of best!.positions) {
      const e = this.entries[p]!;
      if (rest.every((t) => holds(t, e.inv, e.manifest))) out.push(e.host);
    }
    return out;
  }

  private index(key: string): ReadonlyMap<string, number[]> {
    let index = this.indexes.get(key);
    if (index === undefined) {
      index = new Map();
      const name = key.slice(2);
      const label = key.startsWith('l:');
      for (let p = 0; p < this.entries.length; p++) {
        const e = this.entries[p]!;
        let keys: readonly string[];
        if (label) {
          const value = e.manifest?.spec.labels[name] ?? e.inv.labels[name];
          if (value === undefined) continue;
          keys = [value];
        } else {
          const found = factKeys(readFact(e.inv.facts, name));
          keys = found.length > 1 ? [...new Set(found)] : found;
        }
        for (const k of keys) {
          const list = index.get(k);
          if (list === undefined) index.set(k, [p]);
          else list.push(p);
        }
      }
      this.indexes.set(key, index);
    }
    return index;
  }
}
