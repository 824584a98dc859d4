/**
 * `startController()`: the process wiring of `ferry controller` (DESIGN §3–§6). Opens the store
 * and content store, loads the keys, serves the HTTP API, and — only while this process holds
 * the leadership lock — follows the source and runs the reconcile loop.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { createApi } from './api/app.js';
import type { ApiDeps, DesiredDeployment, EnrollRateLimit } from './api/deps.js';
import { ContentIngester, DirectoryContentStore, PeerContentStore } from './content/index.js';
import { loadOrCreateKeys, NoRotationError, planSigner, rotateKey, type ControllerKeys, type RotationStep } from './keys/index.js';
import { LeaderElection } from './leader.js';
import { LeaderRequests } from './leader-requests.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import type { Clock } from '../lib/clock.js';
import { corePlanning } from './reconcile/core-planning.js';
import { Reconciler } from './reconcile/reconciler.js';
import type { ReconcileMetrics } from './reconcile/status.js';
import { DirSource } from './source/dir-source.js';
import { GitSource } from './source/git-source.js';
import { sourceKind } from './source/open-source.js';
import type { ManifestSource } from './source/source.js';
import { openStore, type OpenStoreOptions } from './store/index.js';
import type { Store } from './store/store.js';
import { hostSignals, plansSignal } from './store/replica-signals.js';
import { defaultWakeBroadcast, parseBroadcastAddress } from '../lib/wake/broadcast-address.js';
import { AutoWake } from './wake/auto-wake.js';
import { ControllerMulticast } from './multicast/controller-multicast.js';
import type { AutoWakePolicy } from './wake/auto-wake-decision.js';
import { UdpWakeSender } from '../lib/wake/udp-wake-sender.js';
import { WakeService } from './wake/wake-service.js';
import { RelayWakeSender } from './wake/relay-wake-sender.js';
import { relayDirectoryOf } from './api/relay-directory.js';
import { RelayRegistry } from './api/relay-registry.js';

export interface ControllerOptions {
  /** A git URL or path to follow; a plain directory (not a repository) is watched instead. */
  readonly repo?: string;
  /** A plain manifest directory to watch (local development). */
  readonly dir?: string;
  readonly branch: string;
  /** Manifest folder inside the repository. */
  readonly path?: string;
  /** `sqlite:FILE` or `postgres://…`. */
  readonly db: string;
  /** DATA: keys, admin token, git copy, content, SQLite. */
  readonly data: string;
  /** `HOST:PORT`; port 0 picks a free one. */
  readonly listen: string;
  /** Source poll interval, ms. */
  readonly pollMs: number;
  readonly webhookSecretFile?: string;
  /** A file holding the bearer token `/metrics` then requires (Prometheus' `authorization.credentials_file`). */
  readonly metricsTokenFile?: string;
  readonly logger: Logger;
  /** The one clock of the controller (lib/clock): the source, the API, leader requests and the reconciler read it. */
  readonly clock: Clock;
  /** How often followers try to take leadership over, ms; default 2000. */
  readonly leaderIntervalMs?: number;
  /** Passed to `openStore` (tests: a PostgreSQL schema of their own). */
  readonly storeOptions?: OpenStoreOptions;
  /** How long shutdown waits for in-flight requests, ms; default 10 000. */
  readonly drainMs?: number;
  /** How often the leader looks for requests from other replicas (refresh, content pushed), ms; default 2000. */
  readonly leaderRequestPollMs?: number;
  /** Report history older than this is deleted by the leader, ms; absent: kept for ever. */
  /** `--rotate-key [start|finish]`: begin a controller key rotation, or finish the one under way (controller/keys/rotation.ts). */
  readonly rotateKey?: RotationStep;
  readonly reportRetentionMs?: number;
  /** `ADDR[:PORT]` Wake-on-LAN packets are sent to; default `255.255.255.255:9`. */
  readonly wakeBroadcast?: string;
  /** How often the leader looks for quiet hosts to wake (`wake: true` deployments), ms; default 30 000. */
  readonly autoWakeIntervalMs?: number;
  readonly autoWakePolicy?: AutoWakePolicy;
  /** Enrollments per source address (`--enroll-rate`); default 10 per minute, burst 10. */
  readonly enrollRateLimit?: EnrollRateLimit;
  /** `--advertise-url URL`: where the other replicas reach this one (peer content); default the listen address, or this machine's hostname when listening on every interface. */
  readonly advertiseUrl?: string;
  /** `--multicast GROUP:PORT` (with `--multicast-rate`, `--multicast-interface`): send to hosts without a relay (docs/multicast.md). */
  readonly multicast?: { readonly group: string; readonly port: number; readonly rate?: number; readonly interface?: string };
}

/** A flag or file the operator must fix; the message says how. */
export class ControllerConfigError extends Error {
  override readonly name = 'ControllerConfigError';
}

export interface RunningController {
  /** `http://HOST:PORT`. */
  readonly url: string;
  readonly port: number;
  readonly adminTokenFile: string;
  readonly keys: ControllerKeys;
  readonly store: Store;
  /** True while this process follows the source and reconciles. */
  isLeader(): boolean;
  /** The reconcile loop while leading (tests). */
  reconciler(): Reconciler | undefined;
  /** Stops accepting, drains in-flight requests, stops the source, releases leadership, closes the store. */
  stop(): Promise<void>;
}

/** Starts the controller; resolves once it listens. Throws (with a message saying what to fix) when it cannot. */
export async function startController(options: ControllerOptions): Promise<RunningController> {
  const { logger, clock } = options;
  if (options.repo !== undefined && options.dir !== undefined) throw new ControllerConfigError('give --repo or a directory, not both');
  const data = resolve(options.data);
  if (options.rotateKey !== undefined) {
    await loadOrCreateKeys(data);
    const rotated = await rotateKey(data, options.rotateKey).catch((e: unknown) => {
      throw e instanceof NoRotationError ? new ControllerConfigError(e.message) : e;
    });
    logger.info({ step: options.rotateKey }, `controller: ${rotated.message}`);
  }
  const keys = await loadOrCreateKeys(data);
  const signer = planSigner(keys.privateKeyPem, keys.nextPrivateKeyPem);
  const webhookSecret = options.webhookSecretFile ? await readSecret(options.webhookSecretFile) : undefined;
  const metricsToken = options.metricsTokenFile ? await readSecret(options.metricsTokenFile, '--metrics-token-file') : undefined;
  const { host, port } = parseListen(options.listen);
  const sourceSpec = await chooseSource(options);
  const wakeTarget = parseBroadcastAddress(options.wakeBroadcast ?? defaultWakeBroadcast);
  if ('error' in wakeTarget) throw new ControllerConfigError(wakeTarget.error);

  const store = await openStore(options.db, options.storeOptions);
  // Replicas keep their own content: one lacking an artifact fetches it from a peer (peer-content-store.ts).
  const replicaId = randomBytes(8).toString('hex');
  const localContent = new DirectoryContentStore(join(data, 'content'));
  const content = new PeerContentStore({
    local: localContent,
    peers: async () => (await store.listReplicas(new Date(clock.now() - 3 * REPLICA_HEARTBEAT_MS))).filter((r) => r.id !== replicaId).map((r) => r.url),
    adminToken: keys.adminToken,
    logger: logger.child({ component: 'content' }),
  });
  const metrics = createMetrics();
  const reconcileMetrics = metricsAdapter(metrics);
  const ingester = new ContentIngester({ content, tempDir: join(data, 'ingest') });
  const multicast = options.multicast && new ControllerMulticast({ ...options.multicast, content, clock, onEnded: (sha256, message) => logger.info({ sha256 }, message) });
  const requests = new LeaderRequests(store, logger.child({ component: 'leader-requests' }), options.leaderRequestPollMs, clock);

  let source: ManifestSource | undefined;
  metrics.watchSource(() => source?.status());
  let reconciler: Reconciler | undefined;
  let autoWake: AutoWake | undefined;
  let storeHadApplied = false;

  const election = new LeaderElection(
    store,
    {
      async elected() {
        storeHadApplied = (await store.getSourceStatus()).lastAppliedRevision !== undefined;
        const s = makeSource(sourceSpec, options, data, clock);
        const r = new Reconciler({
          store,
          source: s,
          planning: corePlanning,
          signingKey: signer,
          onPlansRaised: (hosts) => {
            api.plansRaised(hosts);
            // Followers drop these hosts' cached ETags at once rather than at their next sync.
            void store.signalReplicas(plansSignal(hosts, new Date(clock.now() - PLANS_SIGNAL_SKEW_MS)));
          },
          clock,
          logger: logger.child({ component: 'reconcile' }),
          metrics: reconcileMetrics,
          content: ingester,
          ...(multicast ? { controllerSource: multicast.source() } : {}),
          ...(options.reportRetentionMs !== undefined ? { reportRetentionMs: options.reportRetentionMs } : {}),
        });
        source = s;
        reconciler = r;
        autoWake = new AutoWake({
          store,
          wakeDeployments: () => [...(r.appliedSnapshot()?.deployments.values() ?? [])].filter((d) => d.spec.distribute?.wake === true).map((d) => d.metadata.name),
          wake: (host, why) => wake.wake(host, why),
          clock,
          logger: logger.child({ component: 'auto-wake' }),
          ...(options.autoWakeIntervalMs !== undefined ? { intervalMs: options.autoWakeIntervalMs } : {}),
          ...(options.autoWakePolicy !== undefined ? { policy: options.autoWakePolicy } : {}),
        });
        autoWake.start();
        r.start();
        await s.start();
        await requests.start({
          refresh: async () => {
            await s.refresh();
            await r.trigger('refresh');
          },
          content: () => r.trigger('content'),
          inventory: () => r.trigger('replica-inventory'),
        });
      },
      async deposed() {
        const [s, r, w] = [source, reconciler, autoWake];
        source = undefined;
        reconciler = undefined;
        autoWake = undefined;
        await w?.stop();
        await requests.stop();
        await s?.stop();
        await r?.stop();
      },
    },
    logger.child({ component: 'leader' }),
    options.leaderIntervalMs,
  );

  const relayRegistry = new RelayRegistry(clock);
  const relays = () => {
    const [snapshot, groups] = [reconciler?.appliedSnapshot(), reconciler?.groups()];
    return snapshot && groups ? relayDirectoryOf(snapshot, groups) : undefined;
  };
  // A follower names the hosts whose inventories (or reports) it stored to the leader, at most one
  // signal per 100 ms, and the leader plans them alone (reads the rollout progress of those in a
  // rollout). A signal the leader could not hear is made up for: one that could not be sent by a
  // request row (the leader then re-reads whatever moved), one sent while the leader's listening
  // connection was down by the leader's re-read once it is up again (`resumed`), one sent before a
  // new leader led by that leader's first pass, which reads all.
  const followerHosts = { inventories: new Set<string>(), reports: new Set<string>() };
  const followerSignal = coalesced(FOLLOWER_SIGNAL_MS, async () => {
    for (const kind of ['inventories', 'reports'] as const) {
      const hosts = [...followerHosts[kind]];
      followerHosts[kind].clear();
      for (const signal of hostSignals(kind, hosts)) {
        if (await store.signalReplicas(signal)) continue;
        await requests.request('inventory').catch((err: unknown) => logger.warn({ err }, `controller: cannot tell the leader about new ${kind}`));
        return;
      }
    }
  });

  const wake = new WakeService({
    store,
    manifestMac: (host) => reconciler?.appliedSnapshot()?.hosts.get(host)?.spec.mac,
    sender: new UdpWakeSender(wakeTarget.target),
    senderFor: (host) => {
      const relay = relays()?.relayOf(host);
      return relay && new RelayWakeSender(relayRegistry, relay.name, host, relay.wakeBroadcast);
    },
    clock,
  });

  const deps: ApiDeps = {
    store,
    content,
    localContent,
    keys: { publicKeyPem: keys.publicKeyPem, adminToken: keys.adminToken, privateKeyPem: keys.privateKeyPem, enrollmentKeyPem: signer.enrollmentKeyPem },
    source: {
      status: () => ({
        leader: election.isLeader(),
        ...(source ? { source: source.status() } : {}),
        ...(reconciler ? { reconcile: reconciler.status() } : {}),
      }),
      // Resolves once the fetched revision has been reconciled, so the caller sees its outcome.
      // A follower does not fetch: it asks the leader through the database (leader-requests.ts).
      async refresh() {
        const [s, r] = [source, reconciler];
        if (!s || !r) return requests.request('refresh');
        await s.refresh();
        await r.trigger('refresh');
      },
    },
    reconciler: {
      inventoryChanged(h) {
        if (reconciler) return reconciler.inventoryChanged(h);
        followerHosts.inventories.add(h);
        followerSignal.note();
      },
      reportsIngested(h) {
        if (reconciler) return reconciler.reportsIngested(h);
        followerHosts.reports.add(h);
        followerSignal.note();
      },
      overridesChanged: () => reconciler?.overridesChanged(),
      contentChanged(sha256) {
        if (reconciler) void reconciler.contentChanged(sha256);
        else requests.request('content').catch((err: unknown) => logger.warn({ err }, 'controller: cannot tell the leader about pushed content'));
      },
    },
    desired: { deployments: () => desiredDeployments(reconciler), groups: () => reconciler?.groups(), relays },
    relayRegistry,
    logger: logger.child({ component: 'api' }),
    clock: clock,
    metrics,
    ...(webhookSecret !== undefined ? { webhookSecret } : {}),
    ...(metricsToken !== undefined ? { metricsToken } : {}),
    // The leader is ready once plans of an applied revision are being served: applied by this
    // process, or (a restart, a takeover) recorded in the store before it took over.
    ready: () => !election.isLeader() || ((source?.status().ready ?? false) && (storeHadApplied || reconciler?.status().appliedRevision !== undefined)),
    ...(options.enrollRateLimit !== undefined ? { enrollRateLimit: options.enrollRateLimit } : {}),
    wake,
    ...(multicast ? { multicast } : {}),
  };
  const api = createApi(deps);
  // A follower hears which plans the leader raised (PostgreSQL only; its poll cache's sync stays the fallback).
  const unlistenPlans = store.onReplicaSignal((signal) => {
    if (signal.kind === 'inventories') {
      for (const h of signal.hosts) reconciler?.inventoryChanged(h);
      return;
    }
    if (signal.kind === 'reports') {
      for (const h of signal.hosts) reconciler?.reportsIngested(h);
      return;
    }
    // Inventories named while this replica did not listen: read whatever moved.
    if (signal.kind === 'resumed') return void reconciler?.trigger('signals-resumed');
    if (signal.kind !== 'plans' || election.isLeader()) return;
    if ('hosts' in signal) return api.plansRaised(signal.hosts);
    store
      .plansChangedSince(new Date(signal.since))
      .then((changed) => api.plansRaised(changed.map((c) => c.host)))
      .catch((err: unknown) => logger.warn({ err }, 'controller: cannot read the plans the leader raised'));
  });
  const server = api.createServer();
  server.keepAliveTimeout = 65_000;

  try {
    await listen(server, host, port);
    await election.start();
  } catch (err) {
    server.close();
    await election.stop();
    await store.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const advertised = options.advertiseUrl ?? (host === '0.0.0.0' || host === '::' ? `http://${hostname()}:${address.port}` : url);
  logger.info({ url, leader: election.isLeader(), db: redact(options.db) }, 'controller: listening');
  // Peers find this replica's content at its advertised URL, as long as it keeps saying so.
  const heartbeat = () =>
    store.recordReplica(replicaId, advertised, new Date(clock.now())).catch((err: unknown) => logger.warn({ err }, 'controller: cannot record this replica for its peers'));
  await heartbeat();
  const heartbeats = setInterval(() => void heartbeat(), REPLICA_HEARTBEAT_MS);
  heartbeats.unref();

  let stopping: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    adminTokenFile: join(data, 'admin.token'),
    keys,
    store,
    isLeader: () => election.isLeader(),
    reconciler: () => reconciler,
    stop() {
      stopping ??= (async () => {
        logger.info('controller: shutting down');
        await closeServer(server, options.drainMs ?? 10_000);
        await multicast?.close();
        await api.close().catch((err: unknown) => logger.warn({ err }, 'controller: cannot write the hosts last seen'));
        unlistenPlans();
        clearInterval(heartbeats);
        await store.forgetReplica(replicaId).catch(() => undefined);
        await election.stop();
        await store.close();
        logger.info('controller: stopped');
      })();
      return stopping;
    },
  };
}

/** How often a replica records its URL for its peers; one not heard of for three times this is no longer asked. */
const REPLICA_HEARTBEAT_MS = 10_000;

/** How often a follower names the hosts that sent it inventories to the leader, at most (a signal each time). */
const FOLLOWER_SIGNAL_MS = 100;

/** A `plans` signal too long for a payload names the time since when followers read the raised plans: a pass's length before now. */
const PLANS_SIGNAL_SKEW_MS = 60_000;

type SourceSpec = { readonly kind: 'git'; readonly repo: string } | { readonly kind: 'dir'; readonly dir: string };

async function chooseSource(options: ControllerOptions): Promise<SourceSpec> {
  if (options.dir !== undefined) return { kind: 'dir', dir: resolve(options.dir) };
  const repo = options.repo ?? '.';
  const kind = await sourceKind(repo).catch((err: Error) => {
    throw new ControllerConfigError(err.message);
  });
  if (kind === 'dir') {
    if (options.path !== undefined) return { kind: 'dir', dir: resolve(repo, options.path) };
    return { kind: 'dir', dir: resolve(repo) };
  }
  return { kind: 'git', repo };
}

function makeSource(spec: SourceSpec, options: ControllerOptions, data: string, clock: Clock): ManifestSource {
  const common = { pollMs: options.pollMs, clock, logger: options.logger.child({ component: 'source' }) };
  if (spec.kind === 'dir') return new DirSource({ ...common, dir: spec.dir });
  return new GitSource({
    ...common,
    repo: spec.repo,
    branch: options.branch,
    workDir: join(data, 'source'),
    ...(options.path !== undefined ? { path: options.path } : {}),
  });
}

/** `note()` runs `fn` once within `ms`, however often it is called meanwhile. */
function coalesced(ms: number, fn: () => Promise<void>): { note(): void } {
  let timer: NodeJS.Timeout | undefined;
  return {
    note() {
      timer ??= setTimeout(() => {
        timer = undefined;
        void fn();
      }, ms);
      timer.unref();
    },
  };
}

function desiredDeployments(reconciler: Reconciler | undefined): readonly DesiredDeployment[] {
  const snapshot = reconciler?.appliedSnapshot();
  if (!snapshot) return [];
  return [...snapshot.deployments.values()].map((d) => ({
    name: d.metadata.name,
    suspended: d.spec.suspended,
    packages: d.spec.packages.map((p) => ({ name: p.name, version: p.version, state: p.state })),
  }));
}

function metricsAdapter(metrics: Metrics): ReconcileMetrics {
  const label = { applied: 'ok', skipped: 'skipped', failed: 'error', rejected: 'rejected', waiting: 'waiting' } as const;
  return { observe: (outcome, seconds) => metrics.reconcileDuration.observe({ outcome: label[outcome] }, seconds) };
}

/** `HOST:PORT`, `[::1]:PORT` or `:PORT` (all interfaces). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new ControllerConfigError(`--listen ${text}: expected HOST:PORT, e.g. 127.0.0.1:8470`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

async function readSecret(file: string, flag = '--webhook-secret-file'): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ControllerConfigError(`${flag} ${file}: cannot read it (${err.code ?? err.message})`);
  });
  const secret = text.trim();
  if (secret.length < 8) throw new ControllerConfigError(`${flag} ${file}: the secret is empty or shorter than 8 characters`);
  return secret;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((ok, fail) => {
    const onError = (err: NodeJS.ErrnoException) => {
      fail(
        err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES'
          ? new ControllerConfigError(`cannot listen on ${host}:${port}: ${err.code} (try --listen with another address or port)`)
          : err,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      ok();
    });
  });
}

/** Stops accepting, lets in-flight requests finish (up to `drainMs`), then drops what is left. */
async function closeServer(server: Server, drainMs: number): Promise<void> {
  const closed = new Promise<void>((done) => server.close(() => done()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), drainMs);
  timer.unref();
  await closed;
  clearTimeout(timer);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
