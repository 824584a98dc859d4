/**
 * Which relay serves which hosts, as the applied revision says (DESIGN §1 `Relay`, §4): a relay's
 * own host credential covers the hosts it serves and no other. Served hosts follow the planner's
 * rule (core/planner/sources.ts): a host is served by the relay its Host manifest names and by
 * every Relay whose `serves` lists it or one of its groups; a relay never serves its own host.
 */
import type { Snapshot } from '../../core/manifest/types.js';
import { DEFAULT_CONTROLLER, SourceTable } from '../../core/planner/sources.js';

export interface RelayInfo {
  readonly name: string;
  /** The enrolled host the relay runs on (its credential is the relay's). */
  readonly host: string;
  readonly url: string;
  /** `spec.wakeBroadcast`: where this relay sends magic packets; absent: its `--wake-broadcast`. */
  readonly wakeBroadcast?: string;
  readonly served: ReadonlySet<string>;
}

export interface RelayDirectory {
  /** Every relay, by name. */
  readonly relays: ReadonlyMap<string, RelayInfo>;
  /** Relays whose `spec.host` is `host` (usually one). */
  relaysOn(host: string): readonly RelayInfo[];
  /** Whether a relay running on `relayHost` serves `host`. */
  serves(relayHost: string, host: string): boolean;
  /** The relay `host` reaches first (its plan's first relay source), if any. */
  relayOf(host: string): RelayInfo | undefined;
}

/** A directory from relay descriptions (tests, and `fromSnapshot`). */
export function relayDirectory(relays: readonly RelayInfo[]): RelayDirectory {
  const byName = new Map(relays.map((r) => [r.name, r]));
  const byHost = new Map<string, RelayInfo[]>();
  for (const r of relays) byHost.set(r.host, [...(byHost.get(r.host) ?? []), r]);
  const first = new Map<string, RelayInfo>();
  for (const r of relays) for (const h of r.served) if (!first.has(h)) first.set(h, r);
  return {
    relays: byName,
    relaysOn: (host) => byHost.get(host) ?? [],
    serves: (relayHost, host) => (byHost.get(relayHost) ?? []).some((r) => r.served.has(host)),
    relayOf: (host) => first.get(host),
  };
}

const cache = new WeakMap<Snapshot, WeakMap<object, RelayDirectory>>();

/** The directory of `snapshot` with `groups` resolved; memoised per (snapshot, groups) pair. */
export function relayDirectoryOf(snapshot: Snapshot, groups: ReadonlyMap<string, ReadonlySet<string>>): RelayDirectory {
  let byGroups = cache.get(snapshot);
  if (!byGroups) cache.set(snapshot, (byGroups = new WeakMap()));
  const known = byGroups.get(groups);
  if (known) return known;
  const table = new SourceTable(snapshot, groups, DEFAULT_CONTROLLER);
  const candidates = new Set<string>();
  for (const r of snapshot.relays.values()) {
    for (const h of r.spec.serves.hosts) candidates.add(h);
    for (const g of r.spec.serves.groups) for (const h of groups.get(g) ?? []) candidates.add(h);
  }
  for (const h of snapshot.hosts.values()) if (h.spec.relay !== undefined) candidates.add(h.metadata.name);
  const served = new Map<string, Set<string>>([...snapshot.relays.keys()].map((n) => [n, new Set<string>()]));
  // Hosts in source order, so `relayOf` is each host's first relay source.
  const order: [string, string][] = [];
  for (const h of [...candidates].sort()) {
    for (const s of table.sourcesOf(h)) {
      if (s.kind !== 'relay') continue;
      order.push([h, s.name]);
      served.get(s.name)?.add(h);
    }
  }
  const infos = [...snapshot.relays.values()].map(
    (r): RelayInfo => ({
      name: r.metadata.name,
      host: r.spec.host,
      url: r.spec.url,
      ...(r.spec.wakeBroadcast !== undefined ? { wakeBroadcast: r.spec.wakeBroadcast } : {}),
      served: served.get(r.metadata.name) ?? new Set(),
    }),
  );
  const dir = relayDirectory(infos);
  // relayOf must follow each host's source order, not relay order.
  const firstOf = new Map<string, RelayInfo>();
  for (const [h, name] of order) if (!firstOf.has(h)) firstOf.set(h, dir.relays.get(name)!);
  const result: RelayDirectory = { ...dir, relayOf: (host) => firstOf.get(host) };
  byGroups.set(groups, result);
  return result;
}
