/**
 * Leader election: exactly one controller process follows git and reconciles (DESIGN §6).
 * The lock lives with the process: when it dies, the operating system or the database frees it.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { createHash } from 'node:crypto';

export interface Leadership {
  /** True when this process holds the lock now; after a lost lock it tries again. */
  tryAcquire(): Promise<boolean>;
  /** Frees the lock if held. */
  release(): Promise<void>;
}

/** First key of the two-int advisory lock: 'Fery'. */
const LOCK_CLASS = 0x46657279;

/** Second key: from the schema, so stores in different schemas of one database elect separately. */
export function advisoryLockKeys(schema: string): readonly [number, number] {
  return [LOCK_CLASS, createHash('sha256').update(`ferry/leader:${schema}`).digest().readInt32BE(0)];
}

/**
 * A session advisory lock (`pg_try_advisory_lock`) held on one dedicated connection outside the
 * pool. If that connection fails, leadership is lost at once and the next call reconnects.
 */
export class PostgresLeadership implements Leadership {
  #client: pg.Client | undefined;
  #held = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly keys: readonly [number, number],
  ) {}

  async tryAcquire(): Promise<boolean> {
    if (this.#held && this.#client) {
      try {
        await this.#client.query('select 1');
        return true;
      } catch {
        await this.#drop();
        return false;
      }
    }
    try {
      if (!this.#client) {
        const client = new pg.Client(this.config);
        client.on('error', () => void this.#drop());
        await client.connect();
        this.#client = client;
      }
      const res = await this.#client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, $2) as locked', [...this.keys]);
      this.#held = res.rows[0]?.locked === true;
      return this.#held;
    } catch {
      await this.#drop();
      return false;
    }
  }

  async release(): Promise<void> {
    await this.#drop();
  }

  /** Closing the session frees its advisory locks. */
  async #drop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#held = false;
    if (client) await client.end().catch(() => undefined);
  }
}

/**
 * SQLite: an exclusive lock on a small lock database beside the store (`FILE-leader.lock`), held in
 * an open `BEGIN EXCLUSIVE` transaction. The lock file is never the store itself, so writers are
 * not blocked; the operating system frees the lock when the process dies. One SQLite file is only
 * ever shared by processes of one machine, so this elects among them as PostgreSQL does among replicas.
 */
export class SqliteLeadership implements Leadership {
  #db: Database.Database | undefined;

  constructor(private readonly lockPath: string | undefined) {}

  async tryAcquire(): Promise<boolean> {
    if (this.lockPath === undefined) return true; // in-memory store: nobody else can open it
    if (this.#db) return true;
    const db = new Database(this.lockPath, { timeout: 0 });
    try {
      db.exec('begin exclusive');
      this.#db = db;
      return true;
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return false;
      throw err;
    }
  }

  async release(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    if (db) {
      db.exec('rollback');
      db.close();
    }
  }
}
