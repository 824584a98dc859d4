import { type Kysely, type RawBuilder, sql } from 'kysely';
import { chunks } from './codec.js';
import type { Database } from './schema.js';

/**
 * An upsert's `DO UPDATE SET` for `table`: each of `columns` takes the value the INSERT proposed
 * (`excluded.COLUMN`, the same on SQLite and PostgreSQL).
 */
export function takeExcluded<T extends keyof Database, C extends keyof Database[T] & string>(_table: T, ...columns: C[]): Record<C, RawBuilder<never>> {
  return Object.fromEntries(columns.map((c) => [c, sql.ref<never>(`excluded.${c}`)])) as Record<C, RawBuilder<never>>;
}

/** Rows per `updateEach` statement: 2 parameters each. */
const UPDATE_SLICE = 500;

/**
 * Sets `column` of each row of `table` whose `key` is given, to the value given with it, a slice of
 * rows per statement: `UPDATE … SET column = v.column2 FROM (VALUES (key, value), …) AS v WHERE
 * key = v.column1` (the same on SQLite and PostgreSQL, whose VALUES columns are both named
 * column1, column2). Keys must be distinct.
 */
export async function updateEach<T extends keyof Database & string>(
  db: Kysely<Database>,
  table: T,
  key: keyof Database[T] & string,
  column: keyof Database[T] & string,
  rows: readonly (readonly [string, string])[],
): Promise<void> {
  for (const slice of chunks(rows, UPDATE_SLICE)) {
    const values = sql.join(slice.map(([k, v]) => sql`(${k}, ${v})`));
    await sql`update ${sql.table(table)} set ${sql.ref(column)} = v.column2 from (values ${values}) as v where ${sql.ref(`${table}.${key}`)} = v.column1`.execute(db);
  }
}
