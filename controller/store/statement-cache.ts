/**
 * better-sqlite3 behind kysely prepares every query afresh; preparing a multi-row insert costs more
 * than running it. This wrapper hands kysely's SqliteDialect the same prepared statement for the
 * same SQL text (kysely runs one statement at a time on its single connection, so reuse is safe).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * SQLite ends a transaction itself on some errors (SQLITE_FULL: the disk is full); kysely's
 * rollback after that would fail with "no transaction is active" and hide the real error.
 */
const noRollback: SqliteStatement = {
  reader: false,
  all: () => [],
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  *iterate() {},
};

/** Keeps at most `capacity` statements, dropping the least recently used. */
export function cachingDatabase(database: BetterSqlite3.Database, capacity = 256): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    prepare(sql: string): SqliteStatement {
      if (sql === 'rollback' && !database.inTransaction) return noRollback;
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = database.prepare(sql) as unknown as SqliteStatement;
        if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt;
    },
    close(): void {
      cache.clear();
      database.close();
    },
  };
}
