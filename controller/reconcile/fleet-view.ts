/**
 * The fleet as the planner reads it — latest inventories and installed records — kept between
 * passes and brought up to date from the store by reading only what changed: the hosts named by
 * agent triggers, or (on any other trigger) the hosts whose inventory hash moved. Unchanged hosts
 * keep their inventory objects, so the planner recognises them by identity and does not look at
 * them again. A pass reading everything first compares the store's fleet generation: unchanged,
 * nothing is read at all.
 */
import type { Inventory } from '../../core/plan/types.js';
import { VersionedMap } from '../../core/planner/versioned-map.js';
import type { InstalledRecord, Store } from '../store/store.js';

export interface FleetView {
  /** Host → its latest inventory and that inventory's content hash. */
  readonly inventories: ReadonlyMap<string, { readonly inventory: Inventory; readonly hash: string }>;
  /** The inventories as one list (the same array while none changed). */
  readonly inventoryList: readonly Inventory[];
  /** What Ferry installed where, by host, deployment, package (the same array while none changed). */
  readonly installed: readonly InstalledRecord[];
  /** The store's fleet generation read before this view was (see `Store.fleetGeneration`). */
  readonly generation: string;
}

/** What a pass must read again: everything (any non-agent trigger) or the named hosts. */
export type FleetChanges = { readonly kind: 'all' } | { readonly kind: 'hosts'; readonly hosts: ReadonlySet<string> };

/** The hosts agent triggers name, or `all` when any other trigger is among them. */
export function fleetChanges(triggers: readonly string[]): FleetChanges {
  const hosts = new Set<string>();
  for (const t of triggers) {
    const m = /^(?:inventory|reports):(.+)$/.exec(t);
    if (!m) return { kind: 'all' };
    hosts.add(m[1]!);
  }
  return { kind: 'hosts', hosts };
}

/**
 * The view after `changes`, and the hosts whose inventory changed. Without a previous view, reads
 * everything. Inventories are re-read only where their hash differs from the one held.
 */
export async function refreshFleet(
  store: Store,
  previous: FleetView | undefined,
  changes: FleetChanges,
): Promise<{ readonly view: FleetView; readonly changedInventories: number }> {
  // Read first: a write after this read changes it again, so the next pass reads that write.
  const generation = await store.fleetGeneration();
  if (previous === undefined) {
    const [records, installed] = await Promise.all([store.listInventories(), store.listInstalled()]);
    const inventories = new Map(records.map((r) => [r.inventory.host, { inventory: r.inventory, hash: r.hash }]));
    return { view: { inventories, inventoryList: records.map((r) => r.inventory), installed, generation }, changedInventories: inventories.size };
  }
  // Nothing in the fleet was written since the previous view was read: it is still the fleet.
  if (changes.kind === 'all' && generation === previous.generation) return { view: previous, changedInventories: 0 };

  // Inventories: which hosts to read again, then only those whose hash moved.
  let changedHosts: string[];
  let gone: string[] = [];
  if (changes.kind === 'all') {
    const hashes = await store.inventoryHashes();
    changedHosts = [...hashes].filter(([host, hash]) => previous.inventories.get(host)?.hash !== hash).map(([host]) => host);
    gone = [...previous.inventories.keys()].filter((host) => !hashes.has(host));
  } else {
    changedHosts = [...changes.hosts];
  }
  const read = changedHosts.length === 0 ? [] : await store.listInventories({ hosts: changedHosts });
  let inventories = previous.inventories;
  let inventoryList = previous.inventoryList;
  let changed = 0;
  const fresh = read.filter((r) => previous.inventories.get(r.inventory.host)?.hash !== r.hash);
  if (changes.kind === 'hosts') {
    const found = new Set(read.map((r) => r.inventory.host));
    gone = changedHosts.filter((h) => !found.has(h) && previous.inventories.has(h));
  }
  if (fresh.length > 0 || gone.length > 0) {
    // The next version of the previous view's map (not a copy: the reconciler reads only the latest view).
    const changes = new Map<string, { readonly inventory: Inventory; readonly hash: string } | undefined>();
    for (const h of gone) changes.set(h, undefined);
    for (const r of fresh) changes.set(r.inventory.host, { inventory: r.inventory, hash: r.hash });
    inventories = VersionedMap.from(previous.inventories).with(changes);
    changed = fresh.length + gone.length;
    // Only new hosts (a fleet enrolling): they come last in the map's order, so the list is the
    // previous one with them appended (a copy, not a walk of the map).
    const onlyNew = gone.length === 0 && fresh.every((r) => !previous.inventories.has(r.inventory.host));
    inventoryList = onlyNew ? previous.inventoryList.concat(fresh.map((r) => r.inventory)) : Array.from(inventories.values(), (v) => v.inventory);
  }

  // Installed records: all of them, or those of the named hosts spliced in.
  let installed: readonly InstalledRecord[];
  if (changes.kind === 'all') {
    installed = keepIfSame(previous.installed, await store.listInstalled());
  } else {
    const hosts = changes.hosts;
    const now = hosts.size === 0 ? [] : await store.listInstalled({ hosts: [...hosts] });
    const before = previous.installed.filter((r) => hosts.has(r.host));
    installed = sameRecords(before, now) ? previous.installed : splice(previous.installed, hosts, now);
  }
  // Agent triggers read only their hosts: the view is as of `generation` only when everything was read.
  return { view: { inventories, inventoryList, installed, generation: changes.kind === 'all' ? generation : '' }, changedInventories: changed };
}

function keepIfSame(previous: readonly InstalledRecord[], next: readonly InstalledRecord[]): readonly InstalledRecord[] {
  return sameRecords(previous, next) ? previous : next;
}

function sameRecords(a: readonly InstalledRecord[], b: readonly InstalledRecord[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((r, i) => {
    const s = b[i]!;
    return r.host === s.host && r.deployment === s.deployment && r.package === s.package && r.version === s.version && r.onLeave === s.onLeave && r.installedAt === s.installedAt;
  });
}

/** `records` with the records of `hosts` replaced by `replacement`, ordered by host, deployment, package. */
function splice(records: readonly InstalledRecord[], hosts: ReadonlySet<string>, replacement: readonly InstalledRecord[]): readonly InstalledRecord[] {
  const key = (r: InstalledRecord) => `${r.host}\0${r.deployment}\0${r.package}`;
  return [...records.filter((r) => !hosts.has(r.host)), ...replacement].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
