/** Relays as `ferry status` and `ferry hosts` show them (`GET /v1/relays`): each relay's figures, and the relay each host reaches through. */
import { formatBytes } from '../core/units/index.js';
import { table } from './client.js';

export interface RelayView {
  readonly name: string;
  readonly host: string;
  readonly url: string;
  readonly served: readonly string[];
  readonly lastSeen: string | null;
  readonly cache: { bytes: number; maxBytes: number; hits: number; misses: number; coalesced: number; hitRatio: number | null } | null;
  readonly bytesServed: number | null;
  readonly bytesFetched: number | null;
  readonly queuedReports: number | null;
  /** Hosts whose requests the relay carried, with when it last did. */
  readonly hostsSeen: Readonly<Record<string, string>>;
}

/** The relays of the controller; empty when it knows none or cannot say (an older controller, a follower replica). */
export async function fetchRelays(client: { call<T>(method: string, path: string): Promise<T> }): Promise<readonly RelayView[]> {
  try {
    return (await client.call<{ relays: RelayView[] }>('GET', '/v1/relays')).relays;
  } catch {
    return [];
  }
}

/** Host → `relay NAME` it reaches through: the relay that last carried its requests, else the first relay serving it. */
export function relayOfHosts(relays: readonly RelayView[]): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Map<string, { relay: string; at: string }>();
  for (const r of relays) {
    for (const [host, at] of Object.entries(r.hostsSeen)) if (!seen.has(host) || seen.get(host)!.at < at) seen.set(host, { relay: r.name, at });
    for (const host of r.served) if (!out.has(host)) out.set(host, r.name);
  }
  for (const [host, s] of seen) out.set(host, s.relay);
  return out;
}

/** The `Relays:` block of `ferry status`; empty without relays. */
export function relayLines(relays: readonly RelayView[]): string[] {
  if (relays.length === 0) return [];
  const rows = relays.map((r) => [
    r.name,
    r.host,
    r.lastSeen ?? 'never',
    String(r.served.length),
    r.cache ? `${formatBytes(r.cache.bytes)} of ${formatBytes(r.cache.maxBytes)}` : '-',
    r.cache?.hitRatio === null || r.cache === null ? '-' : `${Math.round(r.cache.hitRatio * 100)}%`,
    r.bytesServed === null || r.bytesFetched === null ? '-' : `${formatBytes(r.bytesServed)} / ${formatBytes(r.bytesFetched)}`,
    r.queuedReports === null ? '-' : String(r.queuedReports),
  ]);
  return ['', `Relays (${relays.length}):`, table([['RELAY', 'HOST', 'LAST SEEN', 'HOSTS', 'CACHE', 'HIT RATIO', 'SERVED / FETCHED', 'QUEUED'], ...rows]).trimEnd()];
}
