/** `ferry agent --relay`: the relay server beside the agent loop, its state in `DATA/relay/`, its events on stderr. */
import { join, resolve } from 'node:path';
import { LogSink } from '../agent/log/events.js';
import { RelayServer } from '../agent/relay/relay-server.js';

export interface RelayFlags {
  /** `--server`: the controller or a parent relay. */
  readonly upstream: string;
  /** `--data` of the agent. */
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly cacheBytes: number;
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
    ...(f.multicastInterface ? { multicast: { interface: f.multicastInterface } } : {}),
  });
  events.emit({ event: 'relay-listening', url: relay.url, upstream: f.upstream, cacheBytes: f.cacheBytes, message: `relay serving on ${relay.url}, upstream ${f.upstream}` });
  return relay;
}
