/**
 * The schema's history, in code (no directory globbing, so a bundled or relocated build migrates
 * the same way). Each migration is written once for both dialects with portable types; never edit
 * a released migration, add the next one.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { StoreDialect } from './dialect.js';

/**
 * Text compares byte by byte on both dialects: SQLite's default is BINARY; PostgreSQL columns
 * get the "C" collation, so ordering (times, report ids, host names) is the same everywhere.
 */
function textType(dialect: StoreDialect) {
  return dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
}

async function initial(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const text = textType(dialect);
  await db.schema
    .createTable('enrollment_tokens')
    .addColumn('token_hash', text, (c) => c.primaryKey())
    .addColumn('created_at', text, (c) => c.notNull())
    .addColumn('expires_at', text, (c) => c.notNull())
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_used_at', text)
    .execute();

  await db.schema
    .createTable('hosts')
    .addColumn('name', text, (c) => c.primaryKey())
    .addColumn('credential_hash', text)
    .addColumn('facts', text, (c) => c.notNull())
    .addColumn('labels', text, (c) => c.notNull())
    .addColumn('enrolled_at', text, (c) => c.notNull())
    .addColumn('reset_at', text)
    .addColumn('last_seen_at', text)
    .execute();
  // Several NULLs (reset hosts) are allowed by a unique index on both dialects.
  await db.schema.createIndex('hosts_credential_hash').unique().on('hosts').column('credential_hash').execute();

  await db.schema
    .createTable('inventories')
    .addColumn('host', text, (c) => c.primaryKey())
    .addColumn('doc', text, (c) => c.notNull())
    .addColumn('hash', text, (c) => c.notNull())
    .addColumn('updated_at', text, (c) => c.notNull())
    .addColumn('reported_at', text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('inventories_updated_at').on('inventories').column('updated_at').execute();

  await db.schema
    .createTable('plans')
    .addColumn('host', text, (c) => c.primaryKey())
    .addColumn('serial', 'integer', (c) => c.notNull())
    .addColumn('hash', text, (c) => c.notNull())
    .addColumn('revision', text, (c) => c.notNull())
    .addColumn('body', text, (c) => c.notNull())
    .addColumn('generated_at', text, (c) => c.notNull())
    .addColumn('signed', text)
    .execute();

  // History: every report once. The primary key makes ingestion idempotent per host.
  await db.schema
    .createTable('reports')
    .addColumn('host', text, (c) => c.notNull())
    .addColumn('report_id', text, (c) => c.notNull())
    .addColumn('action_id', text, (c) => c.notNull())
    .addColumn('deployment', text, (c) => c.notNull())
    .addColumn('serial', 'integer', (c) => c.notNull())
    .addColumn('state', text, (c) => c.notNull())
    .addColumn('at', text, (c) => c.notNull())
    .addColumn('received_at', text, (c) => c.notNull())
    .addColumn('body', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('reports_pk', ['host', 'report_id'])
    .execute();
  await db.schema.createIndex('reports_host_action_at').on('reports').columns(['host', 'action_id', 'at']).execute();

  // Current state: the newest report per host and action.
  await db.schema
    .createTable('action_states')
    .addColumn('host', text, (c) => c.notNull())
    .addColumn('action_id', text, (c) => c.notNull())
    .addColumn('deployment', text, (c) => c.notNull())
    .addColumn('package', text)
    .addColumn('version', text)
    .addColumn('op', text)
    .addColumn('state', text, (c) => c.notNull())
    .addColumn('serial', 'integer', (c) => c.notNull())
    .addColumn('report_id', text, (c) => c.notNull())
    .addColumn('at', text, (c) => c.notNull())
    .addColumn('body', text, (c) => c.notNull())
    .addColumn('updated_at', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('action_states_pk', ['host', 'action_id'])
    .execute();
  await db.schema.createIndex('action_states_deployment_state').on('action_states').columns(['deployment', 'state']).execute();

  await db.schema
    .createTable('installed')
    .addColumn('host', text, (c) => c.notNull())
    .addColumn('deployment', text, (c) => c.notNull())
    .addColumn('package', text, (c) => c.notNull())
    .addColumn('version', text, (c) => c.notNull())
    .addColumn('installed_at', text, (c) => c.notNull())
    .addColumn('report_id', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('installed_pk', ['host', 'deployment', 'package'])
    .execute();
  await db.schema.createIndex('installed_host_package').on('installed').columns(['host', 'package', 'version']).execute();
  await db.schema.createIndex('installed_deployment').on('installed').column('deployment').execute();

  await db.schema
    .createTable('deployment_policies')
    .addColumn('deployment', text, (c) => c.primaryKey())
    .addColumn('on_leave', text, (c) => c.notNull())
    .addColumn('updated_at', text, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('deployment_overrides')
    .addColumn('deployment', text, (c) => c.primaryKey())
    .addColumn('suspended', 'integer', (c) => c.notNull())
    .addColumn('by', text, (c) => c.notNull())
    .addColumn('at', text, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('source_status')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('last_applied_revision', text)
    .addColumn('last_applied_at', text)
    .addColumn('last_attempted_revision', text)
    .addColumn('last_attempted_at', text)
    .addColumn('last_attempt_ok', 'integer')
    .addColumn('rejected_revision', text)
    .addColumn('rejected_at', text)
    .addColumn('rejected_problems', text)
    .addColumn('rejected_message', text)
    .execute();

  await db.schema
    .createTable('meta')
    .addColumn('key', text, (c) => c.primaryKey())
    .addColumn('value', text, (c) => c.notNull())
    .execute();
}

/** What 0003 reads of a stored plan body (the shape it had then). */
interface StoredPlanBody {
  readonly actions?: readonly { id: string; deployment: string; package: string; version: string; op: string; status: string; reason?: string }[];
}

function uniqueById<T extends { id: string }>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((a) => !seen.has(a.id) && seen.add(a.id) !== undefined);
}

/** Plans read and rows written per step of the 0003 backfill. */
const BACKFILL_HOSTS = 200;

async function planActions(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const text = textType(dialect);
  await db.schema
    .createTable('plan_actions')
    .addColumn('host', text, (c) => c.notNull())
    .addColumn('action_id', text, (c) => c.notNull())
    .addColumn('deployment', text, (c) => c.notNull())
    .addColumn('package', text, (c) => c.notNull())
    .addColumn('version', text, (c) => c.notNull())
    .addColumn('op', text, (c) => c.notNull())
    .addColumn('planned_status', text, (c) => c.notNull())
    .addColumn('reason', text)
    .addColumn('since_serial', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('plan_actions_pk', ['host', 'action_id'])
    .execute();
  // A deployment's hosts in name order (the deployment page), and its counts.
  await db.schema.createIndex('plan_actions_deployment_host').on('plan_actions').columns(['deployment', 'host']).execute();

  // Backfill from the stored plans, a page of hosts at a time. Since serial 0: the reports already
  // stored count as they did before (the history of each action's place in the plan is not known).
  const plans = db as unknown as Kysely<{ plans: { host: string; body: string } }>;
  const rows = db as unknown as Kysely<{ plan_actions: Record<string, string | number | null> }>;
  let after: string | undefined;
  for (;;) {
    let page = plans.selectFrom('plans').select(['host', 'body']).orderBy('host').limit(BACKFILL_HOSTS);
    if (after !== undefined) page = page.where('host', '>', after);
    const stored = await page.execute();
    if (stored.length === 0) break;
    after = stored[stored.length - 1]!.host;
    const values = stored.flatMap(({ host, body }) =>
      uniqueById((JSON.parse(body) as StoredPlanBody).actions ?? []).map((a) => ({
        host,
        action_id: a.id,
        deployment: a.deployment,
        package: a.package,
        version: a.version,
        op: a.op,
        planned_status: a.status,
        reason: a.reason ?? null,
        since_serial: 0,
      })),
    );
    for (let i = 0; i < values.length; i += 500)
      await rows
        .insertInto('plan_actions')
        .values(values.slice(i, i + 500))
        .execute();
  }
}

/** Migrations by name for one dialect; names sort in the order they apply. */
export function migrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001-initial': { up: (db) => initial(db, dialect) },
    '0002-override-reason': { up: (db) => db.schema.alterTable('deployment_overrides').addColumn('reason', textType(dialect)).execute() },
    '0003-plan-actions': { up: (db) => planActions(db, dialect) },
    '0004-reports-received-at': { up: (db) => db.schema.createIndex('reports_received_at').on('reports').column('received_at').execute() },
    '0005-token-revoked': { up: (db) => db.schema.alterTable('enrollment_tokens').addColumn('revoked_at', textType(dialect)).execute() },
    '0006-override-git-suspended': { up: (db) => db.schema.alterTable('deployment_overrides').addColumn('git_suspended', 'integer').execute() },
    // plansChangedSince (every replica's poll-cache sync, each second while plans change) reads by time, not the whole table.
    '0007-plans-generated-at': { up: (db) => db.schema.createIndex('plans_generated_at').on('plans').column('generated_at').execute() },
  };
}

/** Hands kysely's Migrator the migrations above. */
export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
