/**
 * Work a follower replica asks of the leader through the database they share: a source refresh
 * (`POST /v1/source/refresh`, the push webhook), a re-check of content pushed to it, or a look at
 * inventories that hosts sent to it.
 *
 * The meta table is the durable record: the follower writes a request row, the leader reads the
 * rows and, for a refresh, writes back the id it served, which the follower waits for. On
 * PostgreSQL the follower also signals (`NOTIFY`, replica-signals.ts) and the leader serves at
 * once; its poll every `pollMs` (2 s) stays, so a signal lost with a dropped listening connection
 * costs one poll interval, and SQLite (several processes on one file, no signals) works the same.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Store } from './store/store.js';

export type LeaderRequestKind = 'refresh' | 'content' | 'inventory';
const kinds = ['refresh', 'content', 'inventory'] as const;

const requestKey = (kind: LeaderRequestKind) => `leader.request.${kind}`;
const doneKey = 'leader.done.refresh';

/** What the leader does for each kind of request. */
export interface LeaderRequestHandlers {
  /** Fetch the source now and reconcile what it found; resolves when done. */
  refresh(): Promise<void>;
  /** Content was pushed to a replica: check unavailable content again. */
  content(): Promise<void>;
  /** Hosts enrolled or sent inventories through another replica: read the inventories that changed. */
  inventory(): Promise<void>;
}

export class LeaderRequests {
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => void) | undefined;
  /** A signal arrived while serving: serve again once done. */
  private again = false;
  private seen = new Map<LeaderRequestKind, string | undefined>();
  private handlers: LeaderRequestHandlers | undefined;
  private tick: Promise<void> | undefined;

  constructor(
    private readonly store: Pick<Store, 'getMeta' | 'setMeta' | 'signalReplicas' | 'onReplicaSignal'>,
    private readonly logger: Logger,
    /** How often the leader looks for requests; default 2000 ms. */
    private readonly pollMs = 2000,
    /** Request ids and a follower's wait for the leader's answer. */
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Follower side: records a request for the leader. For a refresh, resolves once the leader
   * has served it (or a later one), or after `waitMs` (default 15 s) without an answer.
   */
  async request(kind: LeaderRequestKind, waitMs = 15_000): Promise<void> {
    // Sortable by time, unique by the random tail: a later request has a greater id.
    const id = `${this.clock.now().toString().padStart(15, '0')}-${randomBytes(6).toString('hex')}`;
    await this.store.setMeta(requestKey(kind), id);
    await this.store.signalReplicas({ kind: 'leader-request' });
    if (kind !== 'refresh' || waitMs <= 0) return;
    const deadline = this.clock.now() + waitMs;
    while (this.clock.now() < deadline) {
      await this.clock.sleep(Math.min(200, this.pollMs));
      const done = await this.store.getMeta(doneKey).catch(() => undefined);
      if (done !== undefined && done >= id) return;
    }
    this.logger.warn({ waitMs }, 'leader requests: the leader did not answer a refresh in time');
  }

  /** Leader side: serves requests made from now on until `stop()`; earlier ones are taken as served (a new leader fetches anyway). */
  async start(handlers: LeaderRequestHandlers): Promise<void> {
    await this.stop();
    for (const kind of kinds) this.seen.set(kind, await this.store.getMeta(requestKey(kind)).catch(() => undefined));
    this.handlers = handlers;
    this.unlisten = this.store.onReplicaSignal((signal) => {
      // A request signalled while this replica did not listen is in its row: look now.
      if (signal.kind === 'leader-request' || signal.kind === 'resumed') this.now();
    });
    this.arm();
  }

  /** Stops serving; an answer under way is awaited. */
  async stop(): Promise<void> {
    this.handlers = undefined;
    this.unlisten?.();
    this.unlisten = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.tick;
  }

  private arm(): void {
    if (!this.handlers) return;
    this.timer = setTimeout(() => this.now(), this.pollMs);
    this.timer.unref();
  }

  /** Serves now (or right after the serving under way), then polls again `pollMs` later. */
  private now(): void {
    if (!this.handlers) return;
    if (this.tick) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.tick = this.serve().finally(() => {
      this.tick = undefined;
      if (this.again) {
        this.again = false;
        this.now();
      } else this.arm();
    });
  }

  private async serve(): Promise<void> {
    const handlers = this.handlers;
    if (!handlers) return;
    try {
      for (const kind of kinds) {
        const id = await this.store.getMeta(requestKey(kind));
        if (id === undefined || id === this.seen.get(kind)) continue;
        this.seen.set(kind, id);
        this.logger.info({ kind }, 'leader requests: serving a request from another replica');
        await handlers[kind]();
        if (kind === 'refresh') await this.store.setMeta(doneKey, id);
      }
    } catch (err) {
      this.logger.warn({ err }, 'leader requests: serving a request failed; the next one is tried');
    }
  }
}
