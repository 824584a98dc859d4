/**
 * Table shapes as kysely sees them. Portable column types only: text (times are RFC 3339 UTC
 * strings, which sort as they compare; JSON is text), integer (booleans are 0/1). One code path
 * for SQLite and PostgreSQL; the store converts rows to the records of store.ts.
 */

export interface EnrollmentTokenTable {
  token_hash: string;
  created_at: string;
  expires_at: string;
  uses: number;
  last_used_at: string | null;
  /** Added by 0005: when an admin revoked it (its expires_at is then no later than this). */
  revoked_at: string | null;
}

export interface HostTable {
  name: string;
  credential_hash: string | null;
  facts: string;
  labels: string;
  enrolled_at: string;
  reset_at: string | null;
  last_seen_at: string | null;
}

export interface InventoryTable {
  host: string;
  doc: string;
  hash: string;
  updated_at: string;
  reported_at: string;
}

export interface PlanTable {
  host: string;
  serial: number;
  hash: string;
  revision: string;
  body: string;
  generated_at: string;
  signed: string | null;
}

export interface ReportTable {
  host: string;
  report_id: string;
  action_id: string;
  deployment: string;
  serial: number;
  state: string;
  at: string;
  received_at: string;
  body: string;
}

export interface ActionStateTable {
  host: string;
  action_id: string;
  /** `''` when the action id names no deployment. */
  deployment: string;
  package: string | null;
  version: string | null;
  op: string | null;
  state: string;
  serial: number;
  report_id: string;
  at: string;
  body: string;
  updated_at: string;
}

/**
 * Added by 0003: the actions of each host's current plan, one row each, so status reads plans
 * without parsing plan bodies. Rewritten with the plan whenever its content changes.
 */
export interface PlanActionTable {
  host: string;
  action_id: string;
  deployment: string;
  package: string;
  version: string;
  op: string;
  /** The planner's status: planned | not-applicable | blocked | waiting | unknown. */
  planned_status: string;
  reason: string | null;
  /**
   * The plan serial from which this action id has been in the host's plan without a break;
   * a report counts for it only from that serial on (0: any report, for rows backfilled by 0003).
   */
  since_serial: number;
}

export interface InstalledTable {
  host: string;
  deployment: string;
  package: string;
  version: string;
  installed_at: string;
  report_id: string;
}

export interface DeploymentPolicyTable {
  deployment: string;
  on_leave: string;
  updated_at: string;
}

export interface DeploymentOverrideTable {
  deployment: string;
  suspended: number;
  by: string;
  at: string;
  /** Added by 0002: why the controller suspended it (NULL for an operator's override). */
  reason: string | null;
  /** Added by 0006: `spec.suspended` in git when the override was set (1/0; NULL: not known then). */
  git_suspended: number | null;
}

export interface SourceStatusTable {
  id: number;
  last_applied_revision: string | null;
  last_applied_at: string | null;
  last_attempted_revision: string | null;
  last_attempted_at: string | null;
  last_attempt_ok: number | null;
  rejected_revision: string | null;
  rejected_at: string | null;
  rejected_problems: string | null;
  rejected_message: string | null;
}

export interface MetaTable {
  key: string;
  value: string;
}

/** Added by 0008: the controller replicas sharing the database and the URL each is reached at (peer content). */
export interface ReplicaTable {
  id: string;
  url: string;
  seen_at: string;
}

export interface Database {
  enrollment_tokens: EnrollmentTokenTable;
  hosts: HostTable;
  inventories: InventoryTable;
  plans: PlanTable;
  reports: ReportTable;
  action_states: ActionStateTable;
  plan_actions: PlanActionTable;
  installed: InstalledTable;
  deployment_policies: DeploymentPolicyTable;
  deployment_overrides: DeploymentOverrideTable;
  source_status: SourceStatusTable;
  meta: MetaTable;
  replicas: ReplicaTable;
}
