/** Deployment facts the controller must remember beyond git: onLeave policies, operator overrides, installed records. */
import type { Kysely } from 'kysely';
import { chunks, iso } from './codec.js';
import type { Database } from './schema.js';
import type { DeploymentOverride, DeploymentPolicy, InstalledRecord, OnLeave } from './store.js';
import { takeExcluded } from './upsert.js';

export async function recordDeploymentPolicies(db: Kysely<Database>, policies: readonly DeploymentPolicy[], now: Date): Promise<void> {
  if (policies.length === 0) return;
  const at = iso(now);
  await db.transaction().execute(async (trx) => {
    for (const slice of chunks(policies, 500)) {
      await trx
        .insertInto('deployment_policies')
        .values(slice.map((p) => ({ deployment: p.deployment, on_leave: p.onLeave, updated_at: at })))
        .onConflict((oc) =>
          oc
            .column('deployment')
            .doUpdateSet((eb) => ({ on_leave: eb.ref('excluded.on_leave'), updated_at: eb.ref('excluded.updated_at') }))
            .whereRef('deployment_policies.on_leave', '<>', 'excluded.on_leave'),
        )
        .execute();
    }
  });
}

export async function listInstalled(
  db: Kysely<Database>,
  filter: { readonly host?: string; readonly deployment?: string; readonly hosts?: readonly string[] } = {},
): Promise<readonly InstalledRecord[]> {
  if (filter.hosts !== undefined) {
    const { hosts, ...rest } = filter;
    const out: InstalledRecord[] = [];
    for (const slice of chunks([...new Set(hosts)].sort(), 500)) out.push(...(await listInstalledWhere(db, rest, slice)));
    return out;
  }
  return listInstalledWhere(db, filter);
}

async function listInstalledWhere(db: Kysely<Database>, filter: { readonly host?: string; readonly deployment?: string }, hosts?: readonly string[]): Promise<InstalledRecord[]> {
  let query = db
    .selectFrom('installed')
    .leftJoin('deployment_policies', 'deployment_policies.deployment', 'installed.deployment')
    .select(['installed.host', 'installed.deployment', 'installed.package', 'installed.version', 'installed.installed_at', 'deployment_policies.on_leave']);
  if (filter.host !== undefined) query = query.where('installed.host', '=', filter.host);
  if (filter.deployment !== undefined) query = query.where('installed.deployment', '=', filter.deployment);
  if (hosts !== undefined) query = query.where('installed.host', 'in', hosts);
  const rows = await query.orderBy('installed.host').orderBy('installed.deployment').orderBy('installed.package').execute();
  return rows.map((r) => ({
    host: r.host,
    deployment: r.deployment,
    package: r.package,
    version: r.version,
    onLeave: (r.on_leave ?? 'keep') as OnLeave,
    installedAt: r.installed_at,
  }));
}

export async function setSuspended(
  db: Kysely<Database>,
  deployment: string,
  suspended: boolean,
  by: string,
  now: Date,
  reason?: string,
  gitSuspended?: boolean,
): Promise<DeploymentOverride> {
  const at = iso(now);
  const git = gitSuspended === undefined ? null : gitSuspended ? 1 : 0;
  await db
    .insertInto('deployment_overrides')
    .values({ deployment, suspended: suspended ? 1 : 0, by, at, reason: reason ?? null, git_suspended: git })
    .onConflict((oc) => oc.column('deployment').doUpdateSet(takeExcluded('deployment_overrides', 'suspended', 'by', 'at', 'reason', 'git_suspended')))
    .execute();
  return { deployment, suspended, by, at, ...(reason !== undefined && { reason }), ...(gitSuspended !== undefined && { gitSuspended }) };
}

export async function clearOverride(db: Kysely<Database>, deployment: string): Promise<void> {
  await db.deleteFrom('deployment_overrides').where('deployment', '=', deployment).execute();
}

export async function listOverrides(db: Kysely<Database>): Promise<readonly DeploymentOverride[]> {
  const rows = await db.selectFrom('deployment_overrides').selectAll().orderBy('deployment').execute();
  return rows.map((r) => ({
    deployment: r.deployment,
    suspended: r.suspended === 1,
    by: r.by,
    at: r.at,
    ...(r.reason !== null && { reason: r.reason }),
    ...(r.git_suspended !== null && { gitSuspended: r.git_suspended === 1 }),
  }));
}
