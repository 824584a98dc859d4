/**
 * A persistent string-keyed map for replan's per-host tables (plans, deployments by host,
 * inventories): each version is a read-only view, and the next version made from the newest one
 * costs O(keys changed), not a copy of the map. Versions share one table of cells, each key's
 * values by version. Making a version from an older one (a branch) copies it instead.
 *
 * Making version n+1 forgets what versions before n held for the keys it changes: a view older
 * than the one a newer version was made from cannot be read any more, and throws (replan keeps
 * the previous result for the next pass only; see controller/reconcile/reconciler.ts).
 */
const GONE = Symbol('gone');

interface Cell<V> {
  readonly v: number;
  readonly value: V | typeof GONE;
}

interface Table<V> {
  /** The newest version made. */
  head: number;
  /** Versions below this one may have lost values. */
  floor: number;
  readonly cells: Map<string, Cell<V>[]>;
}

export class VersionedMap<V> implements ReadonlyMap<string, V> {
  private constructor(
    private readonly table: Table<V>,
    private readonly version: number,
    readonly size: number,
  ) {}

  /** A first version holding `entries`. */
  static of<V>(entries: Iterable<readonly [string, V]>): VersionedMap<V> {
    const cells = new Map<string, Cell<V>[]>();
    for (const [k, value] of entries) cells.set(k, [{ v: 0, value }]);
    return new VersionedMap({ head: 0, floor: 0, cells }, 0, cells.size);
  }

  /** `map` as a VersionedMap (itself when it is one). */
  static from<V>(map: ReadonlyMap<string, V>): VersionedMap<V> {
    return map instanceof VersionedMap ? (map as VersionedMap<V>) : VersionedMap.of(map);
  }

  /** This map with `changes` applied (undefined: delete). */
  with(changes: ReadonlyMap<string, V | undefined>): VersionedMap<V> {
    const t = this.table;
    if (t.head !== this.version) {
      // A branch: the next version of this one exists already.
      const copy = new Map(this.entries());
      for (const [k, value] of changes) {
        if (value === undefined) copy.delete(k);
        else copy.set(k, value);
      }
      return VersionedMap.of(copy);
    }
    const v = t.head + 1;
    let size = this.size;
    let changed = false;
    for (const [k, value] of changes) {
      const before = this.get(k);
      if (before === value) continue;
      let cells = t.cells.get(k);
      if (cells === undefined) t.cells.set(k, (cells = []));
      // Keep this version's cell (the last one), drop older ones, add the next version's.
      if (cells.length > 1) cells.splice(0, cells.length - 1);
      cells.push({ v, value: value === undefined ? GONE : value });
      if (before === undefined) size++;
      if (value === undefined) size--;
      changed = true;
    }
    if (!changed) return this;
    t.head = v;
    t.floor = this.version;
    return new VersionedMap(t, v, size);
  }

  get(key: string): V | undefined {
    if (this.version < this.table.floor) throw new Error('VersionedMap: this version was superseded twice and can no longer be read');
    const cells = this.table.cells.get(key);
    if (cells === undefined) return undefined;
    for (let i = cells.length - 1; i >= 0; i--) {
      const c = cells[i]!;
      if (c.v <= this.version) return c.value === GONE ? undefined : c.value;
    }
    return undefined;
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  *entries(): MapIterator<[string, V]> {
    for (const k of this.table.cells.keys()) {
      const value = this.get(k);
      if (value !== undefined) yield [k, value];
    }
  }
  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }
  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [k, value] of this.entries()) fn(value, k, this);
  }
}

/** Host plans in the order of a sorted host list (planFleet's order), over a VersionedMap. */
export class SortedPlans<P> implements ReadonlyMap<string, P> {
  constructor(
    private readonly hosts: readonly string[],
    readonly byHost: VersionedMap<P>,
  ) {}
  get size(): number {
    return this.hosts.length;
  }
  get(host: string): P | undefined {
    return this.byHost.get(host);
  }
  has(host: string): boolean {
    return this.byHost.has(host);
  }
  *entries(): MapIterator<[string, P]> {
    for (const h of this.hosts) yield [h, this.byHost.get(h)!];
  }
  keys(): MapIterator<string> {
    return this.hosts.values();
  }
  *values(): MapIterator<P> {
    for (const h of this.hosts) yield this.byHost.get(h)!;
  }
  [Symbol.iterator](): MapIterator<[string, P]> {
    return this.entries();
  }
  forEach(fn: (value: P, key: string, map: ReadonlyMap<string, P>) => void): void {
    for (const [h, p] of this.entries()) fn(p, h, this);
  }
}

/**
 * A persistent set of names for group membership (issue 17): the next version made from the
 * newest one costs O(names changed), and every version stays readable for as long as it is held
 * (the API may read a pass's groups after later passes). Versions share one append-only table of
 * each name's membership changes; once the table holds twice as many changes as members, the next
 * version starts a fresh table (amortized O(1) a change). A version made from an older one copies it.
 */
export class VersionedSet implements ReadonlySet<string> {
  private constructor(
    private readonly table: { head: number; changes: number; readonly cells: Map<string, { readonly v: number; readonly member: boolean }[]> },
    private readonly version: number,
    readonly size: number,
  ) {}

  /** `set` as a VersionedSet (itself when it is one). */
  static from(set: ReadonlySet<string>): VersionedSet {
    if (set instanceof VersionedSet) return set;
    const cells = new Map<string, { readonly v: number; readonly member: boolean }[]>();
    for (const name of set) cells.set(name, [{ v: 0, member: true }]);
    return new VersionedSet({ head: 0, changes: 0, cells }, 0, cells.size);
  }

  /** This set with each name of `changes` added (true) or removed (false). */
  with(changes: ReadonlyMap<string, boolean>): VersionedSet {
    const t = this.table;
    if (t.head !== this.version || t.changes + changes.size > 2 * Math.max(this.size, 64)) {
      // A branch, or a table grown long: a fresh one.
      const next = new Set(this);
      for (const [name, member] of changes) {
        if (member) next.add(name);
        else next.delete(name);
      }
      return VersionedSet.from(next);
    }
    const v = t.head + 1;
    let size = this.size;
    let changed = false;
    for (const [name, member] of changes) {
      if (this.has(name) === member) continue;
      let cells = t.cells.get(name);
      if (cells === undefined) t.cells.set(name, (cells = []));
      cells.push({ v, member });
      t.changes++;
      size += member ? 1 : -1;
      changed = true;
    }
    if (!changed) return this;
    t.head = v;
    return new VersionedSet(t, v, size);
  }

  has(name: string): boolean {
    const cells = this.table.cells.get(name);
    if (cells === undefined) return false;
    for (let i = cells.length - 1; i >= 0; i--) if (cells[i]!.v <= this.version) return cells[i]!.member;
    return false;
  }
  *values(): SetIterator<string> {
    for (const name of this.table.cells.keys()) if (this.has(name)) yield name;
  }
  keys(): SetIterator<string> {
    return this.values();
  }
  *entries(): SetIterator<[string, string]> {
    for (const name of this.values()) yield [name, name];
  }
  [Symbol.iterator](): SetIterator<string> {
    return this.values();
  }
  forEach(fn: (value: string, key: string, set: ReadonlySet<string>) => void): void {
    for (const name of this.values()) fn(name, name, this);
  }
}
