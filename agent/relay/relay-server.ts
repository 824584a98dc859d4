/**
 * The relay's HTTP server (issue 11): content from its cache, the agent API forwarded upstream
 * (stored and forwarded while upstream is down), `/healthz` and `/metrics`. Everything else is
 * a 404 in the API's error shape. Its state lives under `dataDir` (`cache/`, `relay.db`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { EventSink } from '../log/events.js';
import { ContentCache } from './content-cache.js';
import { ChunkPool } from './chunk-pool.js';
import { serveContent } from './content-route.js';
import { CredentialCheck } from './credential-check.js';
import { Forwarder } from './forwarder.js';
import { sendError } from './http-util.js';
import { RelayMetrics } from './metrics.js';
import { RelayMulticast } from './multicast-sender.js';
import { RelayStore } from './relay-store.js';
import { type Clock, systemClock } from '../../lib/clock.js';
import type { BroadcastAddress } from '../../lib/wake/broadcast-address.js';
import { type RelayIdentity, WorkPoller } from './work-poller.js';

export interface RelayOptions {
  /** The controller, or a parent relay. */
  readonly upstream: string;
  readonly dataDir: string;
  /** `--cache-size` in bytes. */
  readonly cacheBytes: number;
  readonly host: string;
  /** 0: the OS picks. */
  readonly port: number;
  readonly events: EventSink;
  /** The relay's one clock (LRU stamps, queue times, credential freshness); default the system clock. */
  readonly clock?: Clock;
  /**
   * The relay's own host identity (its agent's credential). With it the relay fetches content,
   * delivers queued reports and polls its work (prefetch, wake) upstream with its own credential;
   * without (or before its agent enrolled) it only forwards hosts' own requests.
   */
  readonly identity?: () => Promise<RelayIdentity | undefined>;
  /** `--wake-broadcast`; default 255.255.255.255:9. */
  readonly wakeBroadcast?: BroadcastAddress;
  /** How long upstream may hold a work poll with nothing to do, ms; default 25 000. */
  readonly workWaitMs?: number;
  /** `--multicast-interface`, and the wait from a session's first join to its first block (docs/multicast.md). */
  readonly multicast?: { readonly interface?: string; readonly joinWaitMs?: number };
}

export class RelayServer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly cache: ContentCache,
    readonly store: RelayStore,
    readonly forwarder: Forwarder,
    readonly metrics: RelayMetrics,
    readonly work: WorkPoller | undefined,
    private readonly abort: AbortController,
  ) {}

  /** Opens the relay's state and listens; queued reports start draining at once. */
  static async start(o: RelayOptions): Promise<RelayServer> {
    const abort = new AbortController();
    const clock = o.clock ?? systemClock;
    const store = RelayStore.open(o.dataDir, clock);
    let cache: ContentCache | undefined;
    let work: WorkPoller | undefined;
    const identity = o.identity ?? (async () => undefined);
    const relayAuthorization = async () => {
      const id = await identity().catch(() => undefined);
      return id && `Bearer ${id.credential}`;
    };
    const carried = new Map<string, number>();
    const metrics = new RelayMetrics({ queueDepth: () => store.queueDepth(), cacheBytes: () => cache?.usedBytes() ?? 0 });
    cache = await ContentCache.open({
      dir: join(o.dataDir, 'cache'),
      maxBytes: o.cacheBytes,
      upstream: o.upstream,
      pinned: () => (work ? new Set([...store.pinnedArtifacts(), ...work.neededContent()]) : store.pinnedArtifacts()),
      onFetched: (n) => metrics.bytesFetched.inc(n),
      signal: abort.signal,
      clock,
    });
    const credentials = new CredentialCheck({ upstream: o.upstream, now: () => clock.now(), knownOffline: (a) => store.hostOf(a) !== undefined });
    const forwarder = new Forwarder({
      upstream: o.upstream,
      store,
      metrics,
      events: o.events,
      clock,
      onCredentialAccepted: (a) => credentials.accepted(a),
      relayAuthorization,
      onCarried: (host) => carried.set(host, clock.now()),
    });
    const contentDeps = { cache, credentials, metrics, store, relayAuthorization, chunks: new ChunkPool() };
    if (o.identity) {
      work = new WorkPoller({
        upstream: o.upstream,
        identity,
        cache,
        metrics,
        cacheMaxBytes: o.cacheBytes,
        queueDepth: () => store.queueDepth(),
        carried: () => Object.fromEntries([...carried].map(([h, at]) => [h, new Date(at).toISOString()])),
        wakeBroadcast: o.wakeBroadcast ?? { address: '255.255.255.255', port: 9 },
        events: o.events,
        clock,
        ...(o.workWaitMs !== undefined ? { waitMs: o.workWaitMs } : {}),
      });
    }
    const multicast = new RelayMulticast({ ...o.multicast, cache, credentials, registry: metrics.registry, events: o.events, clock, signal: abort.signal });
    const server = createServer((req, res) => {
      handle(req, res).catch((e: unknown) => {
        o.events.emit({ event: 'relay-error', level: 'error', message: (e as Error).message, path: req.url });
        sendError(res, 500, 'internal', 'the relay failed to answer; see its log');
      });
    });
    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const path = (req.url ?? '/').split('?')[0]!;
      const content = /^\/v1\/content\/([0-9a-fA-F]{64})$/.exec(path);
      if (content) {
        if (req.method !== 'GET' && req.method !== 'HEAD')
          return sendError(res, 405, 'method-not-allowed', 'a relay serves content with GET and HEAD only; push artifacts to the controller');
        return serveContent(contentDeps, req, res, content[1]!.toLowerCase());
      }
      const session = RelayMulticast.route(path);
      if (session) return multicast.handle(req, res, session);
      const route = Forwarder.route(req.method ?? 'GET', path);
      if (route) return forwarder.handle(req, res, route, req.url ?? path);
      if (path === '/healthz' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
        return;
      }
      if (path === '/metrics' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
        return;
      }
      sendError(res, 404, 'not-found', `a relay serves /v1/content/{sha256} and the agent API (enroll, inventory, plan, reports); not ${req.method} ${path}`);
    };
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const relay = new RelayServer(server, `http://${host}:${addr.port}`, cache, store, forwarder, metrics, work, abort);
    forwarder.kick();
    work?.start();
    return relay;
  }

  /** Stops listening, stops transfers (their partial files stay for resuming) and closes the state. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.work?.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.forwarder.close();
    await this.cache.idle();
    this.store.close();
  }
}
