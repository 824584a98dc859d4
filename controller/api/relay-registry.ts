/**
 * What the controller knows of its running relays (issue 11): the figures each reported on its
 * last work poll, and the wake requests waiting for a relay to send (issue 13). Kept in memory on
 * the replica the relay polls: after a controller restart figures return with each relay's next
 * poll, and a wake request not yet picked up fails back to its caller.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import type { Mac } from '../../lib/wake/mac.js';
import type { WakeSent } from '../../lib/wake/wake-sender.js';

/** The figures a relay reports on each work poll. */
export interface RelayStats {
  readonly cacheBytes: number;
  readonly cacheMaxBytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly coalesced: number;
  readonly bytesServed: number;
  readonly bytesFetched: number;
  readonly queued: number;
  /** Host → when the relay last carried a request of it. */
  readonly hosts?: Readonly<Record<string, string>>;
}

export interface RelaySeen {
  /** The relay's host. */
  readonly host: string;
  readonly at: string;
  readonly stats: RelayStats | undefined;
}

/** A magic packet for a relay to send. */
export interface WakeRequest {
  readonly id: string;
  readonly host: string;
  readonly mac: string;
  /** `ADDR[:PORT]` from the Relay manifest, when it sets one. */
  readonly broadcast?: string;
}

interface Pending {
  readonly request: WakeRequest;
  readonly relay: string;
  readonly settle: (r: { sent: WakeSent } | { error: string }) => void;
  timer: NodeJS.Timeout;
  handedOut: boolean;
}

export class RelayRegistry {
  private readonly seen = new Map<string, RelaySeen>();
  private readonly pending = new Map<string, Pending>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly clock: Clock,
    /** How long a wake request may wait for its relay's poll; default 60 s. */
    private readonly wakeTimeoutMs = 60_000,
  ) {}

  /** Records a relay's poll (its host and figures). */
  polled(host: string, stats: RelayStats | undefined): void {
    const before = this.seen.get(host);
    this.seen.set(host, { host, at: new Date(this.clock.now()).toISOString(), stats: stats ?? before?.stats });
  }

  /** The last poll of the relay on `host`. */
  lastPoll(host: string): RelaySeen | undefined {
    return this.seen.get(host);
  }

  /**
   * Asks relay `relay` to send a magic packet for `mac`; resolves with where it went once the
   * relay says it sent it, rejects when the relay reports an error or does not poll in time.
   */
  wake(relay: string, host: string, mac: Mac, broadcast: string | undefined): Promise<WakeSent> {
    return new Promise<WakeSent>((resolve, reject) => {
      const id = randomUUID();
      const request: WakeRequest = { id, host, mac: mac.text, ...(broadcast !== undefined ? { broadcast } : {}) };
      const settle = (r: { sent: WakeSent } | { error: string }) => {
        clearTimeout(entry.timer);
        this.pending.delete(id);
        if ('sent' in r) resolve(r.sent);
        else reject(new Error(r.error));
      };
      const entry: Pending = {
        request,
        relay,
        settle,
        handedOut: false,
        timer: setTimeout(
          () => settle({ error: `relay ${relay} did not send it within ${Math.round(this.wakeTimeoutMs / 1000)} s (is the relay running and polling the controller?)` }),
          this.wakeTimeoutMs,
        ),
      };
      entry.timer.unref?.();
      this.pending.set(id, entry);
      for (const w of this.waiters.get(relay) ?? []) w();
    });
  }

  /** Wake requests for any of `relays` that no poll has taken yet; they are handed out once. */
  takeWakes(relays: readonly string[]): WakeRequest[] {
    const out: WakeRequest[] = [];
    for (const p of this.pending.values()) {
      if (p.handedOut || !relays.includes(p.relay)) continue;
      p.handedOut = true;
      out.push(p.request);
    }
    return out;
  }

  /** A relay reports what became of wake requests it was handed (`relays`: the relays it runs). */
  sent(relays: readonly string[], results: readonly { readonly id: string; readonly to?: string; readonly error?: string }[]): void {
    for (const r of results) {
      const p = this.pending.get(r.id);
      if (!p || !relays.includes(p.relay)) continue;
      if (r.error !== undefined || r.to === undefined) p.settle({ error: `relay ${p.relay} could not send it: ${r.error ?? 'no address reported'}` });
      else p.settle({ sent: { by: `relay ${p.relay}`, to: r.to } });
    }
  }

  /** Resolves when a wake request for one of `relays` arrives, or after `ms`, or when `signal` aborts. */
  async waitForWork(relays: readonly string[], ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0 || [...this.pending.values()].some((p) => !p.handedOut && relays.includes(p.relay))) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        for (const r of relays) this.waiters.get(r)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      for (const r of relays) {
        let set = this.waiters.get(r);
        if (!set) this.waiters.set(r, (set = new Set()));
        set.add(done);
      }
    });
  }
}
