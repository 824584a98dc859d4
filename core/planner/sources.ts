/**
 * Content sources of each host (DESIGN §2): its relays first — the one its Host manifest names,
 * then every Relay serving it through serves.hosts or serves.groups, by name — then the controller.
 * A relay is never its own host's source.
 */
import type { Snapshot } from '../manifest/types.js';
import type { ContentSource } from '../plan/types.js';

/**
 * Artifact bytes per multicast datagram: with the 24-byte header, 8 bytes of UDP and 20 of IPv4
 * a datagram is 1460 bytes and fits a 1500-byte Ethernet frame unfragmented (a lost fragment
 * would cost the whole datagram).
 */
export const MULTICAST_BLOCK_SIZE = 1408;

export const DEFAULT_CONTROLLER: ContentSource = Object.freeze({ kind: 'controller', name: 'controller' });

/** Computes and shares source lists; hosts with the same relays share one frozen array. */
export class SourceTable {
  private readonly served = new Map<string, string[]>(); // host → relays serving it, by name
  private readonly lists = new Map<string, readonly ContentSource[]>();

  constructor(
    private readonly snapshot: Snapshot,
    groups: ReadonlyMap<string, ReadonlySet<string>>,
    private readonly controller: ContentSource,
  ) {
    for (const name of [...snapshot.relays.keys()].sort()) {
      const relay = snapshot.relays.get(name)!;
      const hosts = new Set(relay.spec.serves.hosts);
      for (const g of relay.spec.serves.groups) for (const h of groups.get(g) ?? []) hosts.add(h);
      for (const h of hosts) {
        const list = this.served.get(h);
        if (list === undefined) this.served.set(h, [name]);
        else list.push(name);
      }
    }
  }

  /** The ordered sources of one host. */
  sourcesOf(host: string): readonly ContentSource[] {
    const names: string[] = [];
    const named = this.snapshot.hosts.get(host)?.spec.relay;
    if (named !== undefined && this.snapshot.relays.has(named)) names.push(named);
    for (const r of this.served.get(host) ?? []) if (r !== named) names.push(r);
    const usable = names.filter((r) => this.snapshot.relays.get(r)!.spec.host !== host);
    const key = usable.join('\0');
    let list = this.lists.get(key);
    if (list === undefined) {
      const relays = usable.map((r): ContentSource => {
        const { url, multicast } = this.snapshot.relays.get(r)!.spec;
        return Object.freeze({ kind: 'relay', name: r, url, ...(multicast ? { multicast: Object.freeze({ ...multicast, blockSize: MULTICAST_BLOCK_SIZE }) } : {}) });
      });
      list = Object.freeze([...relays, this.controller]);
      this.lists.set(key, list);
    }
    return list;
  }
}
