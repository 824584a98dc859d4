/**
 * What the relay keeps across restarts (`DATA/relay/relay.db`, SQLite WAL, synchronous FULL):
 * the last signed plan of each host it served (to answer polls while upstream is down), which
 * credential upstream accepted for which host (only its sha256, so it can vouch for a host
 * offline), and the queue of reports and inventories waiting for upstream. A queued item names
 * its host and holds no credential: the relay delivers it with its own (DESIGN §4). It is on disk
 * before the host hears 202, and leaves the queue only after upstream took it.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, systemClock } from '../../lib/clock.js';

export interface StoredPlan {
  readonly host: string;
  readonly etag: string | undefined;
  readonly body: string;
}

export type QueuedKind = 'reports' | 'inventory';

export interface QueuedItem {
  readonly id: number;
  readonly host: string;
  readonly kind: QueuedKind;
  readonly method: string;
  readonly path: string;
  readonly body: string;
}

const schema = `
  CREATE TABLE IF NOT EXISTS plans (host TEXT PRIMARY KEY, etag TEXT, body TEXT NOT NULL, needs TEXT NOT NULL, saved_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS credentials (hash TEXT PRIMARY KEY, host TEXT NOT NULL, seen_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('reports', 'inventory')),
    method TEXT NOT NULL, path TEXT NOT NULL, body TEXT NOT NULL, queued_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS outbox_host ON outbox (host, id);`;

/** An earlier relay kept each host's credential with its queued items (table "queue"): keep the items, drop the credentials. */
const migrateQueue = `
  INSERT INTO outbox (id, host, kind, method, path, body, queued_at) SELECT id, host, kind, method, path, body, queued_at FROM queue;
  DROP TABLE queue;`;

/** The sha256 of an Authorization header: how credentials are remembered. */
export const credentialHash = (authorization: string): string => createHash('sha256').update(authorization).digest('hex');

export class RelayStore {
  private pinned: Set<string> | undefined;
  private readonly planned = new Map<string, ReadonlySet<string> | undefined>();

  private constructor(
    private readonly db: Database.Database,
    private readonly clock: Clock,
  ) {}

  static open(dir: string, clock: Clock = systemClock): RelayStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const db = new Database(join(dir, 'relay.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(schema);
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'queue'").get()) db.transaction(() => db.exec(migrateQueue))();
    return new RelayStore(db, clock);
  }

  close(): void {
    this.db.close();
  }

  /** Keeps `host`'s signed plan as upstream sent it, with the artifacts its install actions need. */
  savePlan(host: string, etag: string | undefined, body: string): void {
    let needs: string[] = [];
    try {
      const plan = JSON.parse(body) as { actions?: { op?: string; status?: string; artifact?: { sha256?: string } }[] };
      needs = (plan.actions ?? [])
        .filter((a) => a.op === 'install' && a.status !== 'not-applicable' && typeof a.artifact?.sha256 === 'string')
        .map((a) => a.artifact!.sha256!.toLowerCase());
    } catch {
      // Not JSON: the agent will reject it; nothing to pin.
    }
    this.db
      .prepare(
        'INSERT INTO plans (host, etag, body, needs, saved_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (host) DO UPDATE SET etag = excluded.etag, body = excluded.body, needs = excluded.needs, saved_at = excluded.saved_at',
      )
      .run(host, etag ?? null, body, JSON.stringify(needs), this.clock.now());
    this.pinned = undefined;
    this.planned.delete(host);
  }

  /** Every artifact `host`'s stored plan names (any action); undefined when the relay holds no plan of it. */
  planContent(host: string): ReadonlySet<string> | undefined {
    if (this.planned.has(host)) return this.planned.get(host);
    const plan = this.plan(host);
    let content: ReadonlySet<string> | undefined;
    if (plan) {
      try {
        const actions = (JSON.parse(plan.body) as { actions?: { artifact?: { sha256?: unknown } }[] }).actions ?? [];
        content = new Set(actions.flatMap((a) => (typeof a.artifact?.sha256 === 'string' ? [a.artifact.sha256.toLowerCase()] : [])));
      } catch {
        content = undefined;
      }
    }
    if (this.planned.size > 100_000) this.planned.clear();
    this.planned.set(host, content);
    return content;
  }

  plan(host: string): StoredPlan | undefined {
    const row = this.db.prepare('SELECT host, etag, body FROM plans WHERE host = ?').get(host) as { host: string; etag: string | null; body: string } | undefined;
    return row && { host: row.host, etag: row.etag ?? undefined, body: row.body };
  }

  /** sha256s the stored plans' install actions need (the cache evicts them last). */
  pinnedArtifacts(): ReadonlySet<string> {
    if (!this.pinned) {
      const rows = this.db.prepare('SELECT needs FROM plans').all() as { needs: string }[];
      this.pinned = new Set(rows.flatMap((r) => JSON.parse(r.needs) as string[]));
    }
    return this.pinned;
  }

  /** Upstream accepted `authorization` for `host`. */
  rememberCredential(authorization: string, host: string): void {
    this.db
      .prepare('INSERT INTO credentials (hash, host, seen_at) VALUES (?, ?, ?) ON CONFLICT (hash) DO UPDATE SET host = excluded.host, seen_at = excluded.seen_at')
      .run(credentialHash(authorization), host, this.clock.now());
  }

  forgetCredential(authorization: string): void {
    this.db.prepare('DELETE FROM credentials WHERE hash = ?').run(credentialHash(authorization));
  }

  /** The host upstream last accepted `authorization` for, if any. */
  hostOf(authorization: string | undefined): string | undefined {
    if (!authorization) return undefined;
    const row = this.db.prepare('SELECT host FROM credentials WHERE hash = ?').get(credentialHash(authorization)) as { host: string } | undefined;
    return row?.host;
  }

  /** Queues one request for upstream; a newer inventory replaces a queued one of the same host. */
  enqueue(item: Omit<QueuedItem, 'id'>): void {
    this.db.transaction(() => {
      if (item.kind === 'inventory') this.db.prepare("DELETE FROM outbox WHERE host = ? AND kind = 'inventory'").run(item.host);
      this.db
        .prepare('INSERT INTO outbox (host, kind, method, path, body, queued_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(item.host, item.kind, item.method, item.path, item.body, this.clock.now());
    })();
  }

  /** Whether `host` has something queued (new items queue behind it, to keep their order). */
  hasQueued(host: string): boolean {
    return this.db.prepare('SELECT 1 FROM outbox WHERE host = ? LIMIT 1').get(host) !== undefined;
  }

  /** The oldest queued items after `afterId`. */
  queued(limit: number, afterId = 0): QueuedItem[] {
    return this.db.prepare('SELECT id, host, kind, method, path, body FROM outbox WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as QueuedItem[];
  }

  dequeue(id: number): void {
    this.db.prepare('DELETE FROM outbox WHERE id = ?').run(id);
  }

  queueDepth(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  }
}
