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

/** Migrations by name for one dialect; names sort in the order they apply. */
export function migrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001-initial': { up: (db) => initial(db, dialect) },
    '0002-override-reason': { up: (db) => db.schema.alterTable('deployment_overrides').addColumn('reason', textType(dialect)).execute() },
  };
}

/** Hands kysely's Migrator the migrations above. */
export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
