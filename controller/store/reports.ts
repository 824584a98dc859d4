/**
 * Report ingestion: history (every report once), the current state per host and action, and the
 * installed records that follow from it. One transaction per call; multi-row statements.
 */
import { sql, type Compilable, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { ActionReport, ActionState } from '../../core/plan/types.js';
import { parseActionId } from './action-id.js';
import { bumpFleetGeneration } from './meta.js';
import { insertRows, writeRows } from './bulk-insert.js';
import { chunks, fromJson, iso, normalizeTime, toJson } from './codec.js';
import type { ActionStateTable, Database, InstalledTable, ReportTable } from './schema.js';
import type { ActionStateRecord, IngestResult, ReportBatch, ReportRecord, StateFilter } from './store.js';

/** Rows per statement: 9–12 parameters each stays far below both dialects' limits. */
const CHUNK = 500;

/** True when report `a` is later than `b`: by time, ties by the greater id. */
function later(a: { at: string; id: string }, b: { at: string; id: string }): boolean {
  return a.at > b.at || (a.at === b.at && a.id > b.id);
}

export async function ingestReports(db: Kysely<Database>, host: string, reports: readonly ActionReport[], now: Date): Promise<IngestResult> {
  if (reports.length === 0) return { accepted: 0, duplicates: 0, advanced: [] };
  return db.transaction().execute(async (trx) => (await ingestIn(trx, [{ host, reports, now }]))[0]!);
}

/**
 * Group commit: every batch in one transaction, each decided as its own `ingestReports` call would
 * in the given order. Consecutive batches of distinct hosts share their statements (a host's rows
 * touch only that host's keys, so the order among them cannot matter); a host's second batch
 * starts the next run, after its first is written.
 */
export async function ingestReportBatches(db: Kysely<Database>, batches: readonly ReportBatch[]): Promise<readonly IngestResult[]> {
  if (batches.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const out: IngestResult[] = [];
    let run: ReportBatch[] = [];
    let hosts = new Set<string>();
    for (const b of batches) {
      if (hosts.has(b.host)) {
        out.push(...(await ingestIn(trx, run)));
        run = [];
        hosts = new Set();
      }
      run.push(b);
      hosts.add(b.host);
    }
    out.push(...(await ingestIn(trx, run)));
    return out;
  });
}

/** A report as stored: its time normalised, its JSON and its action id's parts computed once. */
interface Stored {
  readonly report: ActionReport;
  readonly body: string;
  readonly parts: ReturnType<typeof parseActionId>;
}

/** Reports of batches of distinct hosts, with multi-row statements over all of them. */
async function ingestIn(trx: Kysely<Database>, batches: readonly ReportBatch[]): Promise<IngestResult[]> {
  // Within one batch a repeated id is a duplicate too (the first one counts).
  const unique = batches.map((b) => {
    const byId = new Map<string, Stored>();
    for (const r of b.reports) {
      if (byId.has(r.id)) continue;
      const report = { ...r, at: normalizeTime(r.at) };
      byId.set(r.id, { report, body: toJson(report), parts: parseActionId(r.actionId) });
    }
    return [...byId.values()];
  });
  const rows: Insertable<ReportTable>[] = [];
  batches.forEach((b, i) => {
    const receivedAt = iso(b.now);
    for (const { report: r, body, parts } of unique[i]!) {
      rows.push({
        host: b.host,
        report_id: r.id,
        action_id: r.actionId,
        deployment: parts?.deployment ?? '',
        serial: r.serial,
        state: r.state,
        at: r.at,
        received_at: receivedAt,
        body,
      });
    }
  });
  const inserted = await insertReports(trx, rows);
  const accepted = new Map<string, Set<string>>();
  for (const r of inserted) {
    const ids = accepted.get(r.host);
    if (ids) ids.add(r.report_id);
    else accepted.set(r.host, new Set([r.report_id]));
  }

  // Per batch (one per host), the newest accepted report per action; older ones are history only.
  const newest = batches.map((b, i) => {
    const ids = accepted.get(b.host);
    const byAction = new Map<string, Stored>();
    for (const stored of unique[i]!) {
      const r = stored.report;
      if (!ids?.has(r.id)) continue;
      const current = byAction.get(r.actionId);
      if (!current || later(r, current.report)) byAction.set(r.actionId, stored);
    }
    return byAction;
  });
  const stateRows: Insertable<ActionStateTable>[] = batches.flatMap((b, i) =>
    [...newest[i]!.values()].map(({ report: r, body, parts }) => ({
      host: b.host,
      action_id: r.actionId,
      deployment: parts?.deployment ?? '',
      package: parts?.package ?? null,
      version: parts?.version ?? null,
      op: parts?.op ?? null,
      state: r.state,
      serial: r.serial,
      report_id: r.id,
      at: r.at,
      body,
      updated_at: iso(b.now),
    })),
  );
  const moved = await upsertStates(trx, stateRows);
  const advancedOf = new Map<string, { actionId: string; state: ActionState }[]>();
  for (const m of moved) {
    const list = advancedOf.get(m.host);
    const entry = { actionId: m.action_id, state: m.state as ActionState };
    if (list) list.push(entry);
    else advancedOf.set(m.host, [entry]);
  }
  let installedMoved = false;
  const out: IngestResult[] = [];
  for (const [i, b] of batches.entries()) {
    const advanced = advancedOf.get(b.host) ?? [];
    if (
      await applyInstalled(
        trx,
        b.host,
        advanced.map((a) => newest[i]!.get(a.actionId)!.report),
      )
    )
      installedMoved = true;
    advanced.sort((x, y) => (x.actionId < y.actionId ? -1 : x.actionId > y.actionId ? 1 : 0));
    const acceptedHere = accepted.get(b.host)?.size ?? 0;
    out.push({ accepted: acceptedHere, duplicates: b.reports.length - acceptedHere, advanced });
  }
  if (installedMoved) await bumpFleetGeneration(trx);
  return out;
}

/**
 * Writes history rows, skipping those already stored (a retried report); returns the rows written.
 * First without RETURNING (a third less work per row on SQLite): when every row was written, that
 * is the answer; when some were already there (a retry), the statements are undone and run again
 * with RETURNING, which names the rows written.
 */
async function insertReports(trx: Kysely<Database>, rows: readonly Insertable<ReportTable>[]): Promise<{ host: string; report_id: string }[]> {
  const build = (slice: Insertable<ReportTable>[]) =>
    trx
      .insertInto('reports')
      .values(slice)
      .onConflict((oc) => oc.columns(['host', 'report_id']).doNothing());
  return writeNamingRows(
    trx,
    'reports_insert',
    rows,
    build,
    (slice) => build(slice).returning(['host', 'report_id']),
    (r) => ({ host: r.host, report_id: r.report_id }),
  );
}

/**
 * Moves current states to the newest reports, keeping a state whose report is later (the WHERE: a
 * concurrent, later report stays in place; PostgreSQL replicas ingest in parallel); returns the
 * rows that moved. As `insertReports`: without RETURNING first, again with it when some did not move.
 */
async function upsertStates(trx: Kysely<Database>, rows: readonly Insertable<ActionStateTable>[]): Promise<{ host: string; action_id: string; state: string }[]> {
  const build = (slice: Insertable<ActionStateTable>[]) =>
    trx
      .insertInto('action_states')
      .values(slice)
      .onConflict((oc) =>
        oc
          .columns(['host', 'action_id'])
          .doUpdateSet((eb) => ({
            state: eb.ref('excluded.state'),
            serial: eb.ref('excluded.serial'),
            report_id: eb.ref('excluded.report_id'),
            at: eb.ref('excluded.at'),
            body: eb.ref('excluded.body'),
            updated_at: eb.ref('excluded.updated_at'),
          }))
          .where((eb) =>
            eb.or([
              eb('excluded.at', '>', eb.ref('action_states.at')),
              eb.and([eb('excluded.at', '=', eb.ref('action_states.at')), eb('excluded.report_id', '>', eb.ref('action_states.report_id'))]),
            ]),
          ),
      );
  return writeNamingRows(
    trx,
    'action_states_upsert',
    rows,
    build,
    (slice) => build(slice).returning(['host', 'action_id', 'state']),
    (r) => ({ host: r.host, action_id: r.action_id, state: r.state }),
  );
}

/**
 * Writes `rows` with `build` (no RETURNING) inside a savepoint named `shape`: when every row was
 * affected, `named` of each row is the answer; otherwise those writes are undone and the rows written
 * again with `returning`, whose rows name the ones affected.
 */
async function writeNamingRows<Row extends Record<string, unknown>, Named>(
  trx: Kysely<Database>,
  shape: string,
  rows: readonly Row[],
  build: (slice: Row[]) => Compilable<unknown>,
  returning: (slice: Row[]) => Compilable<Named>,
  named: (row: Row) => Named,
): Promise<Named[]> {
  if (rows.length === 0) return [];
  await sql.raw(`savepoint ${shape}`).execute(trx);
  const affected = await writeRows(trx, `${shape}-count`, rows, CHUNK, build);
  if (affected !== rows.length) await sql.raw(`rollback to savepoint ${shape}`).execute(trx);
  await sql.raw(`release savepoint ${shape}`).execute(trx);
  if (affected === rows.length) return rows.map(named);
  return insertRows(trx, shape, rows, CHUNK, returning);
}

/** Keeps "what Ferry installed where" in step with current states that just moved; true when it wrote. */
async function applyInstalled(trx: Kysely<Database>, host: string, moved: readonly ActionReport[]): Promise<boolean> {
  const ordered = [...moved].sort((a, b) => (later(a, b) ? 1 : later(b, a) ? -1 : 0));
  const installed = new Set<string>();
  const removed = new Set<string>();
  for (const r of ordered) {
    const parts = parseActionId(r.actionId);
    if (parts && r.state === 'installed' && parts.op === 'install') installed.add(`${parts.package}@${parts.version}`);
    if (parts && r.state === 'uninstalled' && parts.op === 'uninstall') removed.add(`${parts.package}@${parts.version}`);
  }
  // Rare: one batch both installs and removes one package version; apply those in time order.
  if ([...removed].some((k) => installed.has(k))) {
    for (const r of ordered) await applyInstalledBatch(trx, host, [r]);
    return true;
  }
  return applyInstalledBatch(trx, host, ordered);
}

/** Applies reports that do not both install and remove one package version; true when it wrote. */
async function applyInstalledBatch(trx: Kysely<Database>, host: string, moved: readonly ActionReport[]): Promise<boolean> {
  const installs: Insertable<InstalledTable>[] = [];
  const removals: { package: string; version: string }[] = [];
  for (const r of moved) {
    const parts = parseActionId(r.actionId);
    if (!parts) continue;
    if (r.state === 'installed' && parts.op === 'install') {
      installs.push({ host, deployment: parts.deployment, package: parts.package, version: parts.version, installed_at: r.at, report_id: r.id });
    } else if (r.state === 'uninstalled' && parts.op === 'uninstall') {
      removals.push({ package: parts.package, version: parts.version });
    }
  }
  // One deployment installs one version of a package per host: keep the newest install per key.
  const byKey = new Map<string, Insertable<InstalledTable>>();
  for (const row of installs) {
    const key = `${row.deployment}\u0000${row.package}`;
    const seen = byKey.get(key);
    if (!seen || row.installed_at > seen.installed_at) byKey.set(key, row);
  }
  for (const slice of chunks([...byKey.values()], CHUNK)) {
    await trx
      .insertInto('installed')
      .values(slice)
      .onConflict((oc) =>
        oc.columns(['host', 'deployment', 'package']).doUpdateSet((eb) => ({
          version: eb.ref('excluded.version'),
          installed_at: eb.ref('excluded.installed_at'),
          report_id: eb.ref('excluded.report_id'),
        })),
      )
      .execute();
  }
  // Gone from the host, whichever deployment had installed it.
  for (const slice of chunks(removals, CHUNK)) {
    await trx
      .deleteFrom('installed')
      .where('host', '=', host)
      .where((eb) => eb.or(slice.map((r) => eb.and([eb('package', '=', r.package), eb('version', '=', r.version)]))))
      .execute();
  }
  return byKey.size > 0 || removals.length > 0;
}

/** Reports deleted per statement by pruneReports. */
const PRUNE_SLICE = 5_000;

export async function pruneReports(db: Kysely<Database>, before: Date): Promise<number> {
  const cutoff = iso(before);
  let total = 0;
  for (;;) {
    const doomed = db.selectFrom('reports').select(['host', 'report_id']).where('received_at', '<', cutoff).limit(PRUNE_SLICE).$asTuple('host', 'report_id');
    const result = await db
      .deleteFrom('reports')
      .where((eb) => eb(eb.refTuple('host', 'report_id'), 'in', doomed))
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    total += deleted;
    if (deleted < PRUNE_SLICE) return total;
  }
}

export async function history(db: Kysely<Database>, host: string, actionId?: string): Promise<readonly ReportRecord[]> {
  let query = db.selectFrom('reports').select(['body', 'received_at']).where('host', '=', host);
  if (actionId !== undefined) query = query.where('action_id', '=', actionId);
  const rows = await query.orderBy('at').orderBy('report_id').execute();
  return rows.map((row) => ({ ...fromJson<ActionReport>(row.body), host, receivedAt: row.received_at }));
}

function toStateRecord(row: Selectable<ActionStateTable>): ActionStateRecord {
  return {
    host: row.host,
    actionId: row.action_id,
    ...(row.deployment !== '' && { deployment: row.deployment }),
    ...(row.package !== null && { package: row.package }),
    ...(row.version !== null && { version: row.version }),
    ...(row.op !== null && { op: row.op as 'install' | 'uninstall' }),
    state: row.state as ActionState,
    at: row.at,
    report: fromJson(row.body),
  };
}

export async function currentStates(db: Kysely<Database>, filter: StateFilter = {}): Promise<readonly ActionStateRecord[]> {
  let query = db.selectFrom('action_states').selectAll();
  if (filter.deployment !== undefined) query = query.where('deployment', '=', filter.deployment);
  if (filter.host !== undefined) query = query.where('host', '=', filter.host);
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  const rows = await query.orderBy('host').orderBy('action_id').execute();
  return rows.map(toStateRecord);
}
