/**
 * The demo's Osaka relay is a real `ferry agent --relay` child (started in demo.ts). This module
 * holds what the demo needs around it: a loopback port to put in the `Relay` manifest before the
 * relay starts, and its `/metrics` figures, read for the terminal.
 */
import { createServer } from 'node:net';
import { formatBytes } from '../../core/units/bytes.js';

/**
 * A loopback port free right now. The overlay commits the relay's URL before the controller
 * (whose address the relay needs) starts, so the port is chosen first and passed to `--listen`.
 */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no loopback port');
  return address.port;
}

/** What the relay's `GET /metrics` counted (Prometheus counters, summed over labels). */
export interface RelayFigures {
  readonly hits: number;
  readonly misses: number;
  readonly joined: number;
  readonly bytesServed: number;
  readonly bytesFetched: number;
  readonly forwarded: number;
}

/** Reads the relay's `/metrics`; undefined when it does not answer. */
export async function relayFigures(url: string): Promise<RelayFigures | undefined> {
  const text = await fetch(`${url}/metrics`).then(
    (r) => (r.ok ? r.text() : undefined),
    () => undefined,
  );
  if (text === undefined) return undefined;
  const sum = (name: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return {
    hits: sum('ferry_relay_cache_hits_total'),
    misses: sum('ferry_relay_cache_misses_total'),
    joined: sum('ferry_relay_cache_coalesced_total'),
    bytesServed: sum('ferry_relay_bytes_served_total'),
    bytesFetched: sum('ferry_relay_bytes_fetched_total'),
    forwarded: sum('ferry_relay_forwarded_total'),
  };
}

/** The content figures only (they change when hosts download, not on every poll), for the live display. */
export function describeRelayContent(f: RelayFigures): string {
  return `${f.misses} fetched upstream · ${f.hits} from cache · ${f.joined} joined a transfer; ${formatBytes(f.bytesFetched)} in, ${formatBytes(f.bytesServed)} out`;
}

/** One line for the terminal; exact byte counts too, so a script (the demo test) can check them. */
export function describeRelay(f: RelayFigures): string {
  return (
    `content ${f.misses} fetched upstream · ${f.hits} from cache · ${f.joined} joined a transfer; ` +
    `served ${f.bytesServed} bytes (${formatBytes(f.bytesServed)}), fetched ${f.bytesFetched} bytes upstream (${formatBytes(f.bytesFetched)}); ` +
    `${f.forwarded} agent requests forwarded`
  );
}
