import { type RawBuilder, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * An upsert's `DO UPDATE SET` for `table`: each of `columns` takes the value the INSERT proposed
 * (`excluded.COLUMN`, the same on SQLite and PostgreSQL).
 */
export function takeExcluded<T extends keyof Database, C extends keyof Database[T] & string>(_table: T, ...columns: C[]): Record<C, RawBuilder<never>> {
  return Object.fromEntries(columns.map((c) => [c, sql.ref<never>(`excluded.${c}`)])) as Record<C, RawBuilder<never>>;
}
