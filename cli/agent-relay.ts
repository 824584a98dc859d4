/** `ferry agent --relay`: the relay server beside the agent loop, its state in `DATA/relay/`, its events on stderr. */
import { join, resolve } from 'node:path';
import { LogSink } from '../agent/log/events.js';
import { RelayServer } from '../agent/relay/relay-server.js';
import { loadCredential } from '../agent/enroll/credential.js';
import type { BroadcastAddress } from '../lib/wake/broadcast-address.js';

export interface RelayFlags {
  /** `--server`: the controller or a parent relay. */
  readonly upstream: string;
  /** `--data` of the agent. */
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly cacheBytes: number;
  /** `--wake-broadcast`. */
  readonly wakeBroadcast: BroadcastAddress;
  /** The agent's `--interval`: the work poll is held at most this long (and at most 25 s). */
  readonly intervalMs: number;
  /** `--multicast-interface`: where the relay's multicast sessions leave. */
  readonly multicastInterface?: string;
}

/** Starts the relay and logs the address it serves on. */
export async function startRelay(f: RelayFlags): Promise<RelayServer> {
  const events = new LogSink();
  const relay = await RelayServer.start({
    upstream: f.upstream,
    dataDir: join(resolve(f.dataDir), 'relay'),
    cacheBytes: f.cacheBytes,
    host: f.host,
    port: f.port,
    events,
    // The relay's own credential is its agent's (DATA/credential.json): read each time, so it is there once the agent enrolled.
    identity: async () => {
      const c = await loadCredential(resolve(f.dataDir));
      return c && { host: c.host, credential: c.credential };
    },
    wakeBroadcast: f.wakeBroadcast,
    workWaitMs: Math.min(25_000, f.intervalMs),
    ...(f.multicastInterface ? { multicast: { interface: f.multicastInterface } } : {}),
  });
  events.emit({ event: 'relay-listening', url: relay.url, upstream: f.upstream, cacheBytes: f.cacheBytes, message: `relay serving on ${relay.url}, upstream ${f.upstream}` });
  return relay;
}
