/**
 * The fleet as the planner reads it — latest inventories and installed records — kept between
 * passes and brought up to date from the store by reading only what changed: the hosts named by
 * agent triggers, or (on any other trigger) the hosts whose inventory hash moved. Inventories and
 * installed records are VersionedMaps by host, so a view costs O(hosts changed) over the previous
 * one, and it names those hosts: the planner compares only them (the others keep their objects).
 * A pass reading everything first compares the store's fleet generation: unchanged, nothing is
 * read at all.
 */
import type { Inventory } from '../../core/plan/types.js';
import { installedIndex } from '../../core/planner/fleet-state.js';
import { VersionedMap } from '../../core/planner/versioned-map.js';
import type { InstalledRecord, Store } from '../store/store.js';

export interface FleetView {
  /** Host → its latest inventory (the same map while none changed). */
  readonly inventories: ReadonlyMap<string, Inventory>;
  /** Host → its latest inventory's content hash. */
  readonly hashes: ReadonlyMap<string, string>;
  /** The hosts whose inventory differs from `from`'s, the inventories of the view this one was made from. */
  readonly changed?: { readonly from: ReadonlyMap<string, Inventory>; readonly hosts: ReadonlySet<string> };
  /** Host → what Ferry installed there, by deployment, package (the same map while none changed). */
  readonly installed: ReadonlyMap<string, readonly InstalledRecord[]>;
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
    const inventories = VersionedMap.of(records.map((r) => [r.inventory.host, r.inventory] as const));
    const hashes = VersionedMap.of(records.map((r) => [r.inventory.host, r.hash] as const));
    return { view: { inventories, hashes, installed: VersionedMap.of(installedIndex(installed)), generation }, changedInventories: inventories.size };
  }
  // Nothing in the fleet was written since the previous view was read: it is still the fleet.
  if (changes.kind === 'all' && generation === previous.generation) return { view: previous, changedInventories: 0 };

  // Inventories: which hosts to read again, then only those whose hash moved.
  let changedHosts: string[];
  let gone: string[] = [];
  if (changes.kind === 'all') {
    const hashes = await store.inventoryHashes();
    changedHosts = [...hashes].filter(([host, hash]) => previous.hashes.get(host) !== hash).map(([host]) => host);
    gone = [...previous.hashes.keys()].filter((host) => !hashes.has(host));
  } else {
    changedHosts = [...changes.hosts];
  }
  const read = changedHosts.length === 0 ? [] : await store.listInventories({ hosts: changedHosts });
  const fresh = read.filter((r) => previous.hashes.get(r.inventory.host) !== r.hash);
  if (changes.kind === 'hosts') {
    const found = new Set(read.map((r) => r.inventory.host));
    gone = changedHosts.filter((h) => !found.has(h) && previous.hashes.has(h));
  }
  let inventories = previous.inventories;
  let hashes = previous.hashes;
  let changed: FleetView['changed'];
  if (fresh.length > 0 || gone.length > 0) {
    // The next versions of the previous view's maps (not copies: the reconciler reads only the latest view).
    const byHost = new Map<string, Inventory | undefined>();
    const hashOf = new Map<string, string | undefined>();
    for (const h of gone) {
      byHost.set(h, undefined);
      hashOf.set(h, undefined);
    }
    for (const r of fresh) {
      byHost.set(r.inventory.host, r.inventory);
      hashOf.set(r.inventory.host, r.hash);
    }
    inventories = VersionedMap.from(previous.inventories).with(byHost);
    hashes = VersionedMap.from(previous.hashes).with(hashOf);
    changed = { from: previous.inventories, hosts: new Set(byHost.keys()) };
  }

  // Installed records: all of them, or the named hosts'; the next version holds the hosts whose records moved.
  const hosts = changes.kind === 'all' ? undefined : changes.hosts;
  const now = installedIndex(hosts?.size === 0 ? [] : await store.listInstalled(hosts && { hosts: [...hosts] }));
  const moved = new Map<string, readonly InstalledRecord[] | undefined>();
  for (const host of hosts ?? new Set([...previous.installed.keys(), ...now.keys()])) {
    const records = now.get(host);
    if (!sameRecords(previous.installed.get(host) ?? [], records ?? [])) moved.set(host, records);
  }
  const installed = moved.size === 0 ? previous.installed : VersionedMap.from(previous.installed).with(moved);
  // Agent triggers read only their hosts: the view is as of `generation` only when everything was read.
  const view = { inventories, hashes, ...(changed ? { changed } : {}), installed, generation: changes.kind === 'all' ? generation : '' };
  return { view, changedInventories: changed?.hosts.size ?? 0 };
}

function sameRecords(a: readonly InstalledRecord[], b: readonly InstalledRecord[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((r, i) => {
    const s = b[i]!;
    return r.host === s.host && r.deployment === s.deployment && r.package === s.package && r.version === s.version && r.onLeave === s.onLeave && r.installedAt === s.installedAt;
  });
}
