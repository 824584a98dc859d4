/**
 * A persistent string-keyed map for replan's per-host tables (plans, deployments by host,
 * inventories): each version is a read-only view, and the next version made from the newest one
 * costs O(keys changed), not a copy of the map. Versions share one table: each key's newest value,
 * and what the keys the newest version changed held before it. Making a version from an older one
 * (a branch) copies it instead.
 *
 * Making version n+1 forgets what versions before n held for the keys it changes: a view older
 * than the one a newer version was made from cannot be read any more, and throws (replan keeps
 * the previous result for the next pass only; see controller/reconcile/reconciler.ts). So a key
 * costs one entry of one Map, whatever the number of versions made (a table of per-key version
 * arrays cost ~200 bytes more a key: 100,000 hosts in four maps, ~80 MB).
 */
const GONE = Symbol('gone');
const NONE: ReadonlySet<string> = new Set();

interface Table<V> {
  /** The newest version made. */
  head: number;
  /** Versions below this one can no longer be read (the newest version's `before` is all that is kept). */
  floor: number;
  /** Each key's value in version `head` (GONE: deleted; the key keeps its place in the order). */
  readonly values: Map<string, V | typeof GONE>;
  /** What the keys version `head` changed held in version `head - 1`. */
  before: Map<string, V | typeof GONE>;
}

export class VersionedMap<V> implements ReadonlyMap<string, V> {
  private constructor(
    private readonly table: Table<V>,
    private readonly version: number,
    readonly size: number,
  ) {}

  /** A first version holding `entries`. */
  static of<V>(entries: Iterable<readonly [string, V]>): VersionedMap<V> {
    const values = new Map<string, V | typeof GONE>(entries);
    return new VersionedMap({ head: 0, floor: 0, values, before: new Map() }, 0, values.size);
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
    let size = this.size;
    let before: Map<string, V | typeof GONE> | undefined;
    for (const [k, value] of changes) {
      const was = this.get(k);
      if (was === value) continue;
      // This version's value, for views of it once the next one is made.
      (before ??= new Map()).set(k, was === undefined ? GONE : was);
      t.values.set(k, value === undefined ? GONE : value);
      if (was === undefined) size++;
      if (value === undefined) size--;
    }
    if (before === undefined) return this;
    t.before = before;
    t.floor = this.version;
    t.head = this.version + 1;
    return new VersionedMap(t, t.head, size);
  }

  /**
   * The keys whose values may differ between `older` and this map, when this is the newest version
   * and `older` the one it was made from (or this map itself); undefined when that is not known.
   */
  changedSince(older: ReadonlyMap<string, V>): ReadonlySet<string> | undefined {
    if (older === this) return NONE;
    if (!(older instanceof VersionedMap) || older.table !== this.table || this.version !== this.table.head || older.version !== this.version - 1) return undefined;
    return new Set(this.table.before.keys());
  }

  get(key: string): V | undefined {
    const t = this.table;
    if (this.version < t.floor) throw new Error('VersionedMap: this version was superseded twice and can no longer be read');
    const value = this.version < t.head && t.before.has(key) ? t.before.get(key) : t.values.get(key);
    return value === GONE ? undefined : value;
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  /** Values the shared table holds, for every version still readable (deleted keys included): what tests count. */
  retained(): number {
    return this.table.values.size + this.table.before.size;
  }
  *entries(): MapIterator<[string, V]> {
    for (const k of this.table.values.keys()) {
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
 * A name's membership changes in a VersionedSet's table: a number `v` alone is the common case of
 * one change, joining in version v (kept in the Map's entry as a small integer: no object, no array).
 */
type Changes = number | { readonly v: number; readonly member: boolean }[];

/**
 * A persistent set of names for group membership (issue 17): the next version made from the
 * newest one costs O(names changed), and every version stays readable for as long as it is held
 * (the API may read a pass's groups after later passes). Versions share one append-only table of
 * each name's membership changes; once the table holds twice as many changes as members, the next
 * version starts a fresh table (amortized O(1) a change). A version made from an older one copies it.
 */
export class VersionedSet implements ReadonlySet<string> {
  private constructor(
    private readonly table: { head: number; changes: number; readonly cells: Map<string, Changes> },
    private readonly version: number,
    readonly size: number,
  ) {}

  /** `set` as a VersionedSet (itself when it is one). */
  static from(set: ReadonlySet<string>): VersionedSet {
    if (set instanceof VersionedSet) return set;
    const cells = new Map<string, Changes>();
    for (const name of set) cells.set(name, 0);
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
      // A name with no change yet is no member: its first change is a join.
      const cells = t.cells.get(name);
      if (cells === undefined) t.cells.set(name, v);
      else if (typeof cells === 'number')
        t.cells.set(name, [
          { v: cells, member: true },
          { v, member },
        ]);
      else cells.push({ v, member });
      t.changes++;
      size += member ? 1 : -1;
      changed = true;
    }
    if (!changed) return this;
    t.head = v;
    return new VersionedSet(t, v, size);
  }

  /** Membership changes the shared table holds as objects (a name that only joined holds none): what tests count. */
  retainedObjects(): number {
    let n = 0;
    for (const cells of this.table.cells.values()) if (typeof cells !== 'number') n += cells.length;
    return n;
  }

  has(name: string): boolean {
    const cells = this.table.cells.get(name);
    if (cells === undefined) return false;
    if (typeof cells === 'number') return cells <= this.version;
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
