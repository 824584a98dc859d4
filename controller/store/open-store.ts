/**
 * Opens the store named by a URL and migrates it to the latest schema before returning:
 * - `sqlite:/path/file.db`, `sqlite:relative.db`, a bare file path, or `sqlite::memory:`;
 * - `postgres://…` / `postgresql://…` (the `pg` driver, a pool).
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Checkpointer } from './checkpointer.js';
import { KyselyStore } from './kysely-store.js';
import { PostgresLeadership, SqliteLeadership, advisoryLockKeys } from './leadership.js';
import { migrationProvider } from './migrations.js';
import { noSignals, PostgresSignals, signalChannel } from './replica-signals.js';
import { cachingDatabase } from './statement-cache.js';
import type { Database } from './schema.js';
import type { StoreDialect } from './dialect.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** PostgreSQL schema to use (created if missing); default: the server's `search_path`. */
  readonly schema?: string;
  /** PostgreSQL pool size; default 10. */
  readonly poolSize?: number;
  /** SQLite: how long a writer waits for another process's lock, ms; default 5000. */
  readonly busyTimeoutMs?: number;
}

/** A database URL that names no store Ferry can open; the message says which forms work. */
export class StoreUrlError extends Error {
  override readonly name = 'StoreUrlError';
}

type Target = { readonly dialect: 'sqlite'; readonly file: string | undefined } | { readonly dialect: 'postgres'; readonly url: string };

/** Which database a URL names; throws StoreUrlError for anything else. */
export function parseStoreUrl(url: string): Target {
  if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: 'postgres', url };
  let rest = url;
  if (/^sqlite:/i.test(url)) {
    rest = url.slice('sqlite:'.length);
    if (rest.startsWith('//')) rest = rest.slice(2);
  } else if (/^[a-z][a-z0-9+.-]+:\/\//i.test(url)) {
    throw new StoreUrlError(`unsupported database URL ${url}: use sqlite:/path/file.db or postgres://user@host/db`);
  }
  if (rest === '') throw new StoreUrlError(`database URL ${url} names no file: use sqlite:/path/file.db`);
  if (rest === ':memory:') return { dialect: 'sqlite', file: undefined };
  return { dialect: 'sqlite', file: resolve(rest) };
}

/** Opens, migrates and returns the store; the caller must `close()` it. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const target = parseStoreUrl(url);
  return target.dialect === 'sqlite' ? openSqlite(target.file, options) : openPostgres(target.url, options);
}

async function openSqlite(file: string | undefined, options: OpenStoreOptions): Promise<Store> {
  if (file !== undefined) mkdirSync(dirname(file), { recursive: true });
  const database = new BetterSqlite3(file ?? ':memory:');
  try {
    database.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit is atomic and survives a process crash; only an OS crash or power loss
    // may lose the last commits. Agents keep reports in their journal until acknowledged.
    database.pragma('synchronous = NORMAL');
    // 64 MiB of page cache (the default is 2 MiB): the B-tree pages a fleet's writes and reads touch
    // stay in memory instead of being read back from the OS on every statement as the file grows.
    database.pragma('cache_size = -65536');
    database.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    database.pragma('foreign_keys = ON');
  } catch (err) {
    database.close();
    throw err;
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingDatabase(database) }) });
  await migrate(db, 'sqlite');
  // A file's WAL is checkpointed on a worker thread, not inside the controller's commits.
  const checkpointer = file === undefined ? undefined : new Checkpointer(database, file);
  return new KyselyStore('sqlite', db, new SqliteLeadership(file === undefined ? undefined : `${file}-leader.lock`), noSignals, async () => checkpointer?.close());
}

/** Lower case, so the unquoted `search_path` and the quoted `create schema` name the same schema. */
const schemaName = /^[a-z_][a-z0-9_]{0,62}$/;

async function openPostgres(url: string, options: OpenStoreOptions): Promise<Store> {
  const { schema } = options;
  if (schema !== undefined && !schemaName.test(schema)) {
    throw new StoreUrlError(`invalid PostgreSQL schema name ${JSON.stringify(schema)}: lower-case letters, digits and _ only`);
  }
  const config: pg.ClientConfig = {
    connectionString: url,
    ...(schema !== undefined && { options: `-c search_path=${schema}` }),
  };
  const pool = new pg.Pool({ ...config, max: options.poolSize ?? 10 });
  // An idle connection that breaks is dropped by the pool; without a listener it would crash the process.
  pool.on('error', () => undefined);
  // A connection in use that breaks (a server restart) fails its query; its own 'error' event, unheard, would crash the process.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let lockSchema = schema;
  try {
    if (schema !== undefined) await pool.query(`create schema if not exists "${schema}"`);
    if (lockSchema === undefined) {
      const res = await pool.query<{ s: string }>('select current_schema() as s');
      lockSchema = res.rows[0]?.s ?? 'public';
    }
    await migrate(db, 'postgres', lockSchema);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return new KyselyStore('postgres', db, new PostgresLeadership(config, advisoryLockKeys(lockSchema)), new PostgresSignals(db, config, signalChannel(lockSchema)));
}

/**
 * Migrates to the latest schema. On PostgreSQL the migration tables are looked up in `schema`
 * only: unqualified, kysely would find another schema's tables and skip creating its own.
 */
async function migrate(db: Kysely<Database>, dialect: StoreDialect, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider(dialect),
    ...(schema !== undefined && { migrationTableSchema: schema }),
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(`store migration failed: ${String(error)}`);
}
