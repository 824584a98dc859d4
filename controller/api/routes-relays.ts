/**
 * Relay routes (issue 11, 13):
 * - `POST /v1/hosts/{host}/relay-work`: the relay running on `host` polls with its own host
 *   credential. It reports its figures and the wake requests it sent; the answer lists the content
 *   its served hosts' current plans still need (sha256, size, and each deployment's distribution
 *   window, so it prefetches inside it) and the magic packets to send. Held up to `waitMs` while
 *   there is nothing to wake (a long poll), so `ferry wake` through a relay is prompt.
 * - `GET /v1/relays` (admin): each relay with its hosts, last poll and figures.
 */
import type { TimeWindow } from '../../core/plan/types.js';
import type { ApiDeps } from './deps.js';
import { ApiError } from './errors.js';
import type { RelayDirectory, RelayInfo } from './relay-directory.js';
import type { RelayRegistry, RelayStats, WakeRequest } from './relay-registry.js';
import type { RouteSpec } from './route.js';

interface WorkBody {
  readonly waitMs?: number;
  readonly stats?: RelayStats;
  readonly sent?: readonly { readonly id: string; readonly to?: string; readonly error?: string }[];
}

/** When a deployment distributes one artifact. */
export interface ContentWhen {
  readonly deployment: string;
  readonly notBefore?: string;
  /** Absent: any time. */
  readonly windows?: readonly TimeWindow[];
}

/** One artifact a relay's site still needs. */
export interface RelayContent {
  readonly sha256: string;
  readonly size: number;
  /** Served hosts whose current plan still needs it. */
  readonly hosts: number;
  readonly when: readonly ContentWhen[];
}

export interface RelayWork {
  readonly relays: readonly string[];
  readonly content: readonly RelayContent[];
  readonly wake: readonly WakeRequest[];
}

const done = new Set(['installed', 'uninstalled', 'not-applicable']);

/** The content `relays`' served hosts' current plans still need: install actions not planned away and not reported done. */
export async function relayContent(deps: Pick<ApiDeps, 'store'>, relays: readonly RelayInfo[]): Promise<RelayContent[]> {
  const hosts = [...new Set(relays.flatMap((r) => [...r.served]))].sort();
  const bySha = new Map<string, { size: number; hosts: Set<string>; when: Map<string, ContentWhen> }>();
  for (const host of hosts) {
    const plan = await deps.store.getPlan(host);
    if (!plan) continue;
    const finished = new Set((await deps.store.currentStates({ host })).filter((s) => done.has(s.state)).map((s) => s.actionId));
    for (const a of plan.body.actions) {
      if (a.op !== 'install' || a.status === 'not-applicable' || finished.has(a.id)) continue;
      const sha256 = a.artifact.sha256.toLowerCase();
      let entry = bySha.get(sha256);
      if (!entry) bySha.set(sha256, (entry = { size: a.artifact.size, hosts: new Set(), when: new Map() }));
      entry.hosts.add(host);
      entry.when.set(a.deployment, {
        deployment: a.deployment,
        ...(a.distribute.notBefore !== undefined ? { notBefore: a.distribute.notBefore } : {}),
        ...(a.distribute.windows !== undefined ? { windows: a.distribute.windows } : {}),
      });
    }
  }
  return [...bySha.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([sha256, e]) => ({ sha256, size: e.size, hosts: e.hosts.size, when: [...e.when.values()].sort((a, b) => (a.deployment < b.deployment ? -1 : 1)) }));
}

const directoryOf = (deps: ApiDeps): RelayDirectory | undefined => deps.desired?.relays?.();

export function relayRoutes(deps: ApiDeps, registry: RelayRegistry): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/v1/hosts/:host/relay-work',
      auth: 'host',
      body: { kind: 'json', schema: 'api/relay-work-body', limit: '8mb', optional: true },
      async handle({ res, params, body, caller }) {
        const host = params['host']!;
        if (caller?.kind !== 'host') throw new ApiError(403, 'relay-credential-required', `only the relay running on ${host}, with its own host credential, polls its work`);
        const relays = directoryOf(deps)?.relaysOn(host) ?? [];
        if (relays.length === 0) {
          throw new ApiError(
            404,
            'not-a-relay',
            `no Relay manifest of the applied revision names host ${host} (spec.host); add one so the controller knows which hosts this relay serves`,
          );
        }
        const b = body as WorkBody;
        const names = relays.map((r) => r.name);
        registry.polled(host, b.stats);
        registry.sent(names, b.sent ?? []);
        const closed = new AbortController();
        res.once('close', () => closed.abort());
        if (!b.sent?.length) await registry.waitForWork(names, b.waitMs ?? 0, closed.signal);
        if (closed.signal.aborted) return;
        const work: RelayWork = { relays: names, content: await relayContent(deps, relays), wake: registry.takeWakes(names) };
        res.status(200).json(work);
      },
    },
    {
      method: 'GET',
      path: '/v1/relays',
      auth: 'admin',
      body: { kind: 'none' },
      async handle({ res }) {
        const dir = directoryOf(deps);
        if (!dir) throw new ApiError(409, 'relays-unknown', 'relays are not known to this controller yet (no revision applied, or a follower replica): ask the leader');
        const relays = [...dir.relays.values()]
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .map((r) => {
            const seen = registry.lastPoll(r.host);
            const stats = seen?.stats;
            const requests = stats ? stats.hits + stats.misses + stats.coalesced : 0;
            return {
              name: r.name,
              host: r.host,
              url: r.url,
              served: [...r.served].sort(),
              lastSeen: seen?.at ?? null,
              cache: stats
                ? {
                    bytes: stats.cacheBytes,
                    maxBytes: stats.cacheMaxBytes,
                    hits: stats.hits,
                    misses: stats.misses,
                    coalesced: stats.coalesced,
                    hitRatio: requests > 0 ? (stats.hits + stats.coalesced) / requests : null,
                  }
                : null,
              bytesServed: stats?.bytesServed ?? null,
              bytesFetched: stats?.bytesFetched ?? null,
              queuedReports: stats?.queued ?? null,
              hostsSeen: stats?.hosts ?? {},
            };
          });
        res.status(200).json({ relays });
      },
    },
  ];
}
