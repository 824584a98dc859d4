/**
 * The actions of each host's current plan (table `plan_actions`) and status read from them: every
 * action of a current plan once, in its reported state when the agent reported on it since it has
 * been in the plan, otherwise in its planned status. Nothing here parses a plan body.
 */
import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { ActionReport, HostPlan, PlannedStatus } from '../../core/plan/types.js';
import { insertRows, writeRows } from './bulk-insert.js';
import { takeExcluded } from './upsert.js';
import { chunks, fromJson, toCount } from './codec.js';
import type { Database, PlanActionTable } from './schema.js';
import type { ActionStatusRecord, StateCount, StatusFilter, StatusState } from './store.js';

/** Rows per statement: 9 parameters each. */
const CHUNK = 500;

/** A raised plan, as `savePlans` hands it over. */
export interface RaisedPlan {
  readonly host: string;
  readonly serial: number;
  readonly body: HostPlan;
  /** The plan stored before, when known without reading its rows (null: none was); absent: read them. */
  readonly before?: HostPlan | null;
}

/**
 * Replaces the plan_actions rows of `plans`' hosts, inside the caller's transaction, writing only
 * what changed: rows of actions that left a plan are deleted, new actions inserted, and actions
 * whose planned status or reason moved updated; an unchanged row is not written. An action id
 * that was in the host's previous plan keeps its `since_serial`; a new one starts at the plan's serial.
 */
export async function replacePlanActions(trx: Transaction<Database>, plans: readonly RaisedPlan[]): Promise<void> {
  if (plans.length === 0) return;
  const old = new Map<string, { readonly status: string; readonly reason: string | null }>();
  for (const p of plans) {
    for (const a of p.before?.actions ?? []) {
      const key = `${p.host}\u0000${a.id}`;
      if (!old.has(key)) old.set(key, { status: a.status, reason: a.reason ?? null });
    }
  }
  for (const slice of chunks(
    plans.filter((p) => p.before === undefined).map((p) => p.host),
    CHUNK,
  )) {
    const rows = await trx.selectFrom('plan_actions').select(['host', 'action_id', 'planned_status', 'reason']).where('host', 'in', slice).execute();
    for (const o of rows) old.set(`${o.host}\u0000${o.action_id}`, { status: o.planned_status, reason: o.reason });
  }
  const upserts: Insertable<PlanActionTable>[] = [];
  for (const p of plans) {
    const seen = new Set<string>();
    for (const a of p.body.actions) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      const key = `${p.host}\u0000${a.id}`;
      const before = old.get(key);
      old.delete(key);
      const reason = a.reason ?? null;
      if (before !== undefined && before.status === a.status && before.reason === reason) continue;
      upserts.push({
        host: p.host,
        action_id: a.id,
        deployment: a.deployment,
        package: a.package,
        version: a.version,
        op: a.op,
        planned_status: a.status,
        reason,
        since_serial: p.serial,
      });
    }
  }
  // What is left of the old rows left the plans.
  const gone = [...old.keys()].map((key) => {
    const at = key.indexOf('\u0000');
    return { host: key.slice(0, at), action_id: key.slice(at + 1) };
  });
  // A slice of rows per statement (a row-value IN over VALUES: on SQLite it searches the primary
  // key once per pair, as a one-row DELETE would), not one statement per row.
  await writeRows(trx, 'plan-actions-delete', gone, CHUNK, (slice) => {
    const pairs = sql.join(slice.map((row) => sql`(${row.host}, ${row.action_id})`));
    const query = sql`delete from plan_actions where (host, action_id) in (values ${pairs})`;
    return { compile: () => query.compile(trx) };
  });
  // An id already there keeps its since_serial: only the planner's status and reason are updated.
  await insertRows(trx, 'plan-actions-upsert', upserts, CHUNK, (slice) =>
    trx
      .insertInto('plan_actions')
      .values(slice)
      .onConflict((oc) => oc.columns(['host', 'action_id']).doUpdateSet(takeExcluded('plan_actions', 'planned_status', 'reason'))),
  );
}

/**
 * Each plan action with its status state: the current reported state when it was reported for
 * a serial at or after `since_serial`, else the planned status (`planned`/`unknown` read `pending`).
 */
function statuses(db: Kysely<Database>, filter: Omit<StatusFilter, 'state' | 'limit'>) {
  let query = db
    .selectFrom('plan_actions as pa')
    .leftJoin('action_states as s', (join) => join.onRef('s.host', '=', 'pa.host').onRef('s.action_id', '=', 'pa.action_id').onRef('s.serial', '>=', 'pa.since_serial'))
    .select([
      'pa.host as host',
      'pa.action_id as action_id',
      'pa.deployment as deployment',
      'pa.package as package',
      'pa.version as version',
      'pa.op as op',
      'pa.planned_status as planned_status',
      'pa.reason as planned_reason',
      's.body as report',
      sql<string>`coalesce(s.state, case when pa.planned_status in ('planned', 'unknown') then 'pending' else pa.planned_status end)`.as('state'),
    ]);
  if (filter.deployment !== undefined) query = query.where('pa.deployment', '=', filter.deployment);
  if (filter.host !== undefined) query = query.where('pa.host', '=', filter.host);
  if (filter.hosts !== undefined) query = query.where('pa.host', 'in', filter.hosts);
  return query;
}

/** A row of `statuses`: the plan action's columns (its reason as `planned_reason`), the report, the state. */
type StatusRow = Omit<Selectable<PlanActionTable>, 'reason' | 'since_serial'> & {
  planned_reason: string | null;
  report: string | null;
  state: string;
};

function toStatusRecord(row: StatusRow): ActionStatusRecord {
  return {
    host: row.host,
    actionId: row.action_id,
    deployment: row.deployment,
    package: row.package,
    version: row.version,
    op: row.op as 'install' | 'uninstall',
    plannedStatus: row.planned_status as PlannedStatus,
    ...(row.planned_reason !== null && { plannedReason: row.planned_reason }),
    state: row.state as StatusState,
    ...(row.report !== null && { report: fromJson<ActionReport>(row.report) }),
  };
}

export async function actionStatuses(db: Kysely<Database>, filter: StatusFilter = {}): Promise<readonly ActionStatusRecord[]> {
  if (filter.hosts !== undefined && filter.hosts.length === 0) return [];
  const out: ActionStatusRecord[] = [];
  // Large host lists (a page of up to 1,000) go in slices to stay under parameter limits.
  const slices = filter.hosts === undefined ? [undefined] : chunks(filter.hosts, CHUNK);
  for (const hosts of slices) {
    let query = db.selectFrom(statuses(db, { ...filter, ...(hosts && { hosts }) }).as('x')).selectAll();
    if (filter.state !== undefined) query = query.where('x.state', '=', filter.state);
    query = query.orderBy('x.host').orderBy('x.action_id');
    if (filter.limit !== undefined) query = query.limit(filter.limit - out.length);
    const rows = (await query.execute()) as Selectable<StatusRow>[];
    for (const row of rows) out.push(toStatusRecord(row));
    if (filter.limit !== undefined && out.length >= filter.limit) break;
  }
  return out;
}

export async function countStates(db: Kysely<Database>, filter: { readonly deployment?: string; readonly host?: string } = {}): Promise<readonly StateCount[]> {
  const rows = await db
    .selectFrom(statuses(db, filter).as('x'))
    .select((eb) => ['x.deployment', 'x.state', eb.fn.countAll<string | number>().as('n')])
    .groupBy(['x.deployment', 'x.state'])
    .orderBy('x.deployment')
    .orderBy('x.state')
    .execute();
  return rows.map((r) => ({ deployment: r.deployment, state: r.state as StatusState, count: toCount(r.n) }));
}

export async function deploymentHosts(db: Kysely<Database>, deployment: string, filter: { readonly state?: StatusState } = {}): Promise<readonly string[]> {
  if (filter.state === undefined) {
    const rows = await db.selectFrom('plan_actions').select('host').distinct().where('deployment', '=', deployment).orderBy('host').execute();
    return rows.map((r) => r.host);
  }
  const rows = await db.selectFrom(statuses(db, { deployment }).as('x')).select('x.host').distinct().where('x.state', '=', filter.state).orderBy('x.host').execute();
  return rows.map((r) => r.host);
}
