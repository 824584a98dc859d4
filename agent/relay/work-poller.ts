/**
 * The relay's work poll (issues 11 and 13): with its own host credential the relay posts its
 * figures to `POST /v1/hosts/{self}/relay-work` and gets back the content its served hosts' plans
 * still need, and the magic packets to send. Content whose distribution window is open now is
 * prefetched into the cache (never evicting what a served plan needs); each magic packet is sent
 * to the request's broadcast address (the Relay manifest's) or `--wake-broadcast`, and reported
 * back at once. The controller holds the poll while it has nothing to wake (a long poll).
 */
import { Backoff, parseRetryAfter } from '../../lib/backoff.js';
import type { Clock } from '../../lib/clock.js';
import { type BroadcastAddress, parseBroadcastAddress } from '../../lib/wake/broadcast-address.js';
import { parseMac } from '../../lib/wake/mac.js';
import { UdpWakeSender } from '../../lib/wake/udp-wake-sender.js';
import type { EventSink } from '../log/events.js';
import type { ContentCache } from './content-cache.js';
import type { RelayMetrics } from './metrics.js';

export interface RelayIdentity {
  /** The relay's own host name (it is an enrolled host). */
  readonly host: string;
  readonly credential: string;
}

/** One deployment's distribution window for an artifact. */
export interface ContentWhen {
  readonly deployment: string;
  readonly notBefore?: string;
  readonly windows?: readonly { readonly start: string; readonly end: string }[];
}

export interface WorkContent {
  readonly sha256: string;
  readonly size: number;
  readonly hosts: number;
  readonly when: readonly ContentWhen[];
}

export interface WorkWake {
  readonly id: string;
  readonly host: string;
  readonly mac: string;
  readonly broadcast?: string;
}

interface Work {
  readonly relays: readonly string[];
  readonly content: readonly WorkContent[];
  readonly wake: readonly WorkWake[];
}

type Sent = { readonly id: string; readonly to: string } | { readonly id: string; readonly error: string };

export interface WorkPollerOptions {
  readonly upstream: string;
  readonly identity: () => Promise<RelayIdentity | undefined>;
  readonly cache: ContentCache;
  readonly metrics: RelayMetrics;
  readonly cacheMaxBytes: number;
  readonly queueDepth: () => number;
  /** Hosts the relay carried requests for, with when it last did. */
  readonly carried: () => Readonly<Record<string, string>>;
  /** `--wake-broadcast`. */
  readonly wakeBroadcast: BroadcastAddress;
  readonly events: EventSink;
  readonly clock: Clock;
  /** How long the controller may hold a poll with nothing to do; default 25 s. */
  readonly waitMs?: number;
}

/** Whether one of `when` lets the artifact travel at `now` (ms). */
export function windowOpen(when: readonly ContentWhen[], now: number): boolean {
  return when.some(
    (w) =>
      (w.notBefore === undefined || Date.parse(w.notBefore) <= now) && (w.windows === undefined || w.windows.some((x) => Date.parse(x.start) <= now && now < Date.parse(x.end))),
  );
}

export class WorkPoller {
  private readonly backoff = new Backoff({ baseMs: 1000, maxMs: 60_000, minMs: 200 });
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private needed: ReadonlySet<string> = new Set();
  /** Last answer's content, for tests and the pinned set. */
  lastWork: Work | undefined;

  constructor(private readonly o: WorkPollerOptions) {}

  /** sha256s the served hosts' plans still need (the cache evicts them last, and prefetch never). */
  neededContent(): ReadonlySet<string> {
    return this.needed;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    let sent: Sent[] = [];
    while (!this.stop.signal.aborted) {
      const identity = await this.o.identity().catch(() => undefined);
      let delay: number | undefined;
      if (!identity) {
        delay = 1000;
      } else {
        const answer = await this.poll(identity, sent);
        if (answer.kind === 'work') {
          this.backoff.reset();
          sent = await this.act(answer.work);
          // The controller held the poll while there was nothing to do: ask again soon (at once with results to report).
          delay = sent.length > 0 ? 0 : Math.min(1000, this.o.waitMs ?? 25_000);
        } else {
          delay = this.backoff.next(answer.retryAfterMs);
          this.o.events.emit({ event: 'relay-work-waiting', level: answer.level, retryInMs: delay, message: answer.message });
        }
      }
      if (delay && delay > 0) await this.o.clock.sleep(delay, this.stop.signal).catch(() => undefined);
    }
  }

  private async stats(): Promise<Record<string, unknown>> {
    const value = async (c: { get(): Promise<{ values: { value: number }[] }> }) => Math.round((await c.get()).values[0]?.value ?? 0);
    const m = this.o.metrics;
    return {
      cacheBytes: this.o.cache.usedBytes(),
      cacheMaxBytes: this.o.cacheMaxBytes,
      hits: await value(m.cacheHits),
      misses: await value(m.cacheMisses),
      coalesced: await value(m.coalesced),
      bytesServed: await value(m.bytesServed),
      bytesFetched: await value(m.bytesFetched),
      queued: this.o.queueDepth(),
      hosts: this.o.carried(),
    };
  }

  private async poll(
    identity: RelayIdentity,
    sent: readonly Sent[],
  ): Promise<{ kind: 'work'; work: Work } | { kind: 'wait'; message: string; level: 'warn' | 'error'; retryAfterMs?: number }> {
    const waitMs = sent.length > 0 ? 0 : (this.o.waitMs ?? 25_000);
    let res: Response;
    try {
      res = await fetch(`${this.o.upstream.replace(/\/+$/, '')}/v1/hosts/${encodeURIComponent(identity.host)}/relay-work`, {
        method: 'POST',
        headers: { authorization: `Bearer ${identity.credential}`, 'content-type': 'application/json' },
        body: JSON.stringify({ waitMs, stats: await this.stats(), sent }),
        signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(waitMs + 30_000)]),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      return { kind: 'wait', level: 'warn', message: `upstream ${this.o.upstream} cannot be reached (${cause?.code ?? (e as Error).message})` };
    }
    const text = await res.text().catch(() => '');
    if (res.status !== 200) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after') ?? undefined, this.o.clock.now());
      return {
        kind: 'wait',
        level: res.status >= 500 ? 'warn' : 'error',
        message: `upstream answered the work poll with ${res.status}: ${text.slice(0, 300)}`,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    }
    return { kind: 'work', work: JSON.parse(text) as Work };
  }

  /** Prefetches what is due and sends the magic packets; returns what became of each wake request. */
  private async act(work: Work): Promise<Sent[]> {
    this.lastWork = work;
    this.needed = new Set(work.content.map((c) => c.sha256));
    const identity = await this.o.identity();
    const now = this.o.clock.now();
    for (const c of work.content) {
      if (!identity || !windowOpen(c.when, now)) continue;
      const started = this.o.cache.prefetch(c.sha256, c.size, `Bearer ${identity.credential}`);
      if (started.kind === 'full') this.o.events.emit({ event: 'relay-prefetch-skipped', level: 'warn', sha256: c.sha256, message: started.message });
      else if (started.fresh) this.o.events.emit({ event: 'relay-prefetch', level: 'info', sha256: c.sha256, size: c.size, hosts: c.hosts });
    }
    const sent: Sent[] = [];
    for (const w of work.wake) sent.push(await this.wake(w));
    return sent;
  }

  private async wake(w: WorkWake): Promise<Sent> {
    const mac = parseMac(w.mac);
    if ('error' in mac) return { id: w.id, error: mac.error };
    let target = this.o.wakeBroadcast;
    if (w.broadcast !== undefined) {
      const parsed = parseBroadcastAddress(w.broadcast);
      if ('error' in parsed) return { id: w.id, error: parsed.error };
      target = parsed.target;
    }
    try {
      const sent = await new UdpWakeSender(target, 'relay').send(mac.mac);
      this.o.events.emit({ event: 'relay-wake-sent', level: 'info', host: w.host, mac: mac.mac.text, to: sent.to });
      return { id: w.id, to: sent.to };
    } catch (e) {
      return { id: w.id, error: (e as Error).message };
    }
  }
}
