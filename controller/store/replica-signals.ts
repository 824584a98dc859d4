/**
 * Wake-up calls between controller replicas sharing one PostgreSQL database (issue 14): a follower
 * asks the leader for work (leader-requests.ts), the leader tells followers whose plans it raised.
 * PostgreSQL `NOTIFY` sends them (through the pool); `LISTEN` hears them on one dedicated connection
 * that reconnects after an error. A signal is only a hint to act now: the durable record stays in
 * the tables and every receiver keeps its poll, so a signal lost with a connection costs one poll
 * interval, no more. SQLite has one controller per database: nothing is sent, nothing heard.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type ReplicaSignal =
  /** A follower recorded a request for the leader (leader-requests.ts). */
  | { readonly kind: 'leader-request' }
  /** A follower stored these hosts' inventories (or enrolled them): the leader reads and plans only them. */
  | { readonly kind: 'inventories'; readonly hosts: readonly string[] }
  /** A follower stored reports of these hosts: the leader reads the rollout progress of those in a rollout. */
  | { readonly kind: 'reports'; readonly hosts: readonly string[] }
  /** The leader raised these hosts' plans; `since` instead when the list is too long to send (read them with `plansChangedSince`). */
  | { readonly kind: 'plans'; readonly hosts: readonly string[] }
  | { readonly kind: 'plans'; readonly since: string }
  /**
   * Not sent: heard by this process alone each time its listening connection comes up. Signals
   * sent while it was down are lost, so a receiver re-reads what they would have announced.
   */
  | { readonly kind: 'resumed' };

export interface ReplicaSignals {
  /** Tells every other replica; best effort: resolves false when it could not be sent (the receivers' polls make up for it). */
  send(signal: ReplicaSignal): Promise<boolean>;
  /** Calls `listener` for each signal another replica sends; returns how to stop listening. */
  listen(listener: (signal: ReplicaSignal) => void): () => void;
  close(): Promise<void>;
}

/** SQLite: one controller per database, nobody to tell. */
export const noSignals: ReplicaSignals = {
  send: async () => false,
  listen: () => () => undefined,
  close: async () => undefined,
};

/** PostgreSQL's limit is 8000 bytes a payload; longer lists of hosts go as `since`. */
const MAX_PAYLOAD = 7000;
const RECONNECT_MS = 1000;

/** One channel per schema, so stores in different schemas of one database do not hear each other. */
export function signalChannel(schema: string): string {
  return `ferry_${createHash('sha256').update(`ferry/signals:${schema}`).digest('hex').slice(0, 16)}`;
}

/** The signal for plans raised: the hosts when they fit in a payload, else `since` (a time before the pass saved them). */
export function plansSignal(hosts: readonly string[], since: Date): ReplicaSignal {
  return JSON.stringify(hosts).length <= MAX_PAYLOAD ? { kind: 'plans', hosts } : { kind: 'plans', since: since.toISOString() };
}

/** Signals naming `hosts` whose inventories (or reports) a follower stored, as few as fit them into payloads. */
export function hostSignals(kind: 'inventories' | 'reports', hosts: readonly string[]): ReplicaSignal[] {
  const out: ReplicaSignal[] = [];
  let batch: string[] = [];
  let length = 0;
  for (const host of hosts) {
    const size = JSON.stringify(host).length + 1;
    if (batch.length > 0 && length + size > MAX_PAYLOAD) {
      out.push({ kind, hosts: batch });
      batch = [];
      length = 0;
    }
    batch.push(host);
    length += size;
  }
  if (batch.length > 0) out.push({ kind, hosts: batch });
  return out;
}

export class PostgresSignals implements ReplicaSignals {
  /** This process's id: its own notifications come back to it and are dropped. */
  readonly #self = randomBytes(8).toString('hex');
  readonly #listeners = new Set<(signal: ReplicaSignal) => void>();
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
  ) {}

  async send(signal: ReplicaSignal): Promise<boolean> {
    if (this.#closed) return false;
    return sql`select pg_notify(${this.channel}, ${JSON.stringify({ from: this.#self, ...signal })})`.execute(this.db).then(
      () => true,
      () => false,
    );
  }

  listen(listener: (signal: ReplicaSignal) => void): () => void {
    this.#listeners.add(listener);
    void this.#connect();
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#connecting;
    await this.#drop();
  }

  /** True while the listening connection is up (tests). */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  #connect(): Promise<void> {
    if (this.#closed || this.#client || this.#connecting) return this.#connecting ?? Promise.resolve();
    this.#connecting = (async () => {
      const client = new pg.Client(this.config);
      client.on('error', () => this.#lost(client));
      client.on('end', () => this.#lost(client));
      client.on('notification', (n) => this.#deliver(n.payload));
      try {
        await client.connect();
        await client.query(`listen ${this.channel}`);
        if (this.#closed) throw new Error('closed');
        this.#client = client;
        for (const listener of this.#listeners) listener({ kind: 'resumed' });
      } catch {
        await client.end().catch(() => undefined);
        this.#retry();
      }
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #deliver(payload: string | undefined): void {
    if (payload === undefined) return;
    let message: { from?: string } & Record<string, unknown>;
    try {
      message = JSON.parse(payload) as typeof message;
    } catch {
      return;
    }
    if (message.from === this.#self) return;
    const { from: _, ...signal } = message;
    for (const listener of this.#listeners) listener(signal as unknown as ReplicaSignal);
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    void client.end().catch(() => undefined);
    this.#retry();
  }

  #retry(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#connect();
    }, RECONNECT_MS);
    this.#timer.unref();
  }

  async #drop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => undefined);
  }
}
