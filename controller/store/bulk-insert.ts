/**
 * Statements over many rows with the statement built once (multi-row INSERTs, or a one-row
 * DELETE run per row): kysely builds and compiles the statement for the first slice of each size;
 * later slices of that size reuse its SQL text with new parameters (and on SQLite the statement
 * cache hands back the same prepared statement), so a slice costs binding its values, not building
 * a query. The reuse is checked once per shape: the compiled parameters must be the rows' values,
 * column by column in the first row's key order (else every slice is built).
 */
import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';
import { chunks } from './codec.js';
import type { Database } from './schema.js';

type Template = { readonly sql: string } | 'build';
const templates = new WeakMap<object, Map<string, Template>>();

/**
 * Runs `build(slice)` for each slice of at most `size` rows, returning every row the statements
 * return. `shape` names the statement: the same shape must give the same SQL for the same row
 * count, with the rows' values as its parameters in order.
 */
export async function insertRows<Row extends Record<string, unknown>, Out = unknown>(
  db: Kysely<Database>,
  shape: string,
  rows: readonly Row[],
  size: number,
  build: (slice: Row[]) => Compilable<Out>,
): Promise<Out[]> {
  const out: Out[] = [];
  await eachSlice(db, shape, rows, size, build, (result) => out.push(...result.rows));
  return out;
}

/** As `insertRows` for statements without RETURNING (inserts, upserts, deletes): the rows they affected, in all. */
export async function writeRows<Row extends Record<string, unknown>>(
  db: Kysely<Database>,
  shape: string,
  rows: readonly Row[],
  size: number,
  build: (slice: Row[]) => Compilable<unknown>,
): Promise<number> {
  let affected = 0;
  await eachSlice(db, shape, rows, size, build, (result) => (affected += Number(result.numAffectedRows ?? 0n)));
  return affected;
}

async function eachSlice<Row extends Record<string, unknown>, Out>(
  db: Kysely<Database>,
  shape: string,
  rows: readonly Row[],
  size: number,
  build: (slice: Row[]) => Compilable<Out>,
  take: (result: QueryResult<Out>) => void,
): Promise<void> {
  const adapter = db.getExecutor().adapter;
  let known = templates.get(adapter);
  if (known === undefined) templates.set(adapter, (known = new Map()));
  for (const slice of chunks(rows, size)) {
    const key = `${shape}\0${slice.length}`;
    const template = known.get(key);
    const columns = Object.keys(slice[0]!);
    let query: CompiledQuery<Out>;
    if (template !== undefined && template !== 'build') {
      const parameters: unknown[] = [];
      for (const row of slice) for (const c of columns) parameters.push(row[c]);
      query = CompiledQuery.raw(template.sql, parameters) as CompiledQuery<Out>;
    } else {
      query = build(slice).compile();
      if (template === undefined) known.set(key, sameValues(query.parameters, slice, columns) ? { sql: query.sql } : 'build');
    }
    take(await db.executeQuery(query));
  }
}

function sameValues(parameters: readonly unknown[], rows: readonly Record<string, unknown>[], columns: readonly string[]): boolean {
  if (parameters.length !== rows.length * columns.length) return false;
  let i = 0;
  for (const row of rows) {
    if (Object.keys(row).join('\0') !== columns.join('\0')) return false;
    for (const c of columns) if (parameters[i++] !== row[c]) return false;
  }
  return true;
}
