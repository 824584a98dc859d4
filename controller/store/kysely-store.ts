/** The Store on kysely: one implementation for SQLite and PostgreSQL (see open-store.ts). */
import type { Kysely } from 'kysely';
import type { ActionReport, Inventory } from '../../core/plan/types.js';
import * as deployments from './deployments.js';
import * as hosts from './hosts.js';
import * as inventories from './inventories.js';
import type { Leadership } from './leadership.js';
import * as meta from './meta.js';
import * as planActions from './plan-actions.js';
import * as planChanges from './plan-changes.js';
import * as plans from './plans.js';
import type { ReplicaSignal, ReplicaSignals } from './replica-signals.js';
import * as replicas from './replicas.js';
import * as reports from './reports.js';
import type { Database } from './schema.js';
import * as source from './source-status.js';
import type { StoreDialect } from './dialect.js';
import * as tokens from './tokens.js';
import type {
  DeploymentPolicy,
  EnrollAttempt,
  EnrollRequest,
  HostEnrollment,
  PlanEntry,
  ReportBatch,
  SavePlansOptions,
  SignedPlanDocument,
  SourceAttempt,
  StateFilter,
  StatusFilter,
  StatusState,
  Store,
} from './store.js';

export class KyselyStore implements Store {
  #closed = false;

  constructor(
    readonly dialect: StoreDialect,
    private readonly db: Kysely<Database>,
    private readonly leadership: Leadership,
    private readonly signals: ReplicaSignals,
    /** Extra cleanup after the pool closes (SQLite: the WAL checkpointer; kysely closes the database). */
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {}

  createToken(o: { readonly ttlMs: number; readonly now: Date }) {
    return tokens.createToken(this.db, o.ttlMs, o.now);
  }
  consumeToken(token: string, now: Date) {
    return tokens.consumeToken(this.db, token, now);
  }
  listTokens() {
    return tokens.listTokens(this.db);
  }
  revokeToken(idOrToken: string, now: Date) {
    return tokens.revokeToken(this.db, idOrToken, now);
  }

  enrollHost(request: EnrollRequest) {
    return hosts.enrollHost(this.db, request);
  }
  enrollHosts(attempts: readonly EnrollAttempt[]) {
    return hosts.enrollHosts(this.db, attempts);
  }
  resetHost(host: string, now: Date) {
    return hosts.resetHost(this.db, host, now);
  }
  findHostByCredentialHash(credentialHash: string) {
    return hosts.findHostByCredentialHash(this.db, credentialHash);
  }
  getHost(host: string) {
    return hosts.getHost(this.db, host);
  }
  listHosts(o: { readonly offset?: number; readonly limit?: number; readonly state?: HostEnrollment }) {
    return hosts.listHosts(this.db, o);
  }
  markSeen(host: string, now: Date) {
    return hosts.markSeen(this.db, host, now);
  }
  markSeenMany(entries: readonly { readonly host: string; readonly at: Date }[]) {
    return hosts.markSeenMany(this.db, entries);
  }
  credentialsVersion() {
    return hosts.credentialsVersion(this.db);
  }
  resetSince(since: Date) {
    return hosts.resetSince(this.db, since);
  }

  putInventory(inventory: Inventory, now: Date) {
    return inventories.putInventory(this.db, inventory, now);
  }
  putInventories(items: readonly { readonly inventory: Inventory; readonly now: Date }[]) {
    return inventories.putInventories(this.db, items);
  }
  getInventory(host: string) {
    return inventories.getInventory(this.db, host);
  }
  listInventories(o?: { readonly changedSince?: Date; readonly hosts?: readonly string[] }) {
    return inventories.listInventories(this.db, o);
  }
  inventoryHashes() {
    return inventories.inventoryHashes(this.db);
  }
  fleetGeneration() {
    return meta.fleetGeneration(this.db);
  }

  savePlans(entries: readonly PlanEntry[], now: Date, o?: SavePlansOptions) {
    return plans.savePlans(this.db, entries, now, o);
  }
  putSignedPlans(documents: readonly SignedPlanDocument[]) {
    return plans.putSignedPlans(this.db, documents);
  }
  getPlan(host: string) {
    return plans.getPlan(this.db, host);
  }
  listSignedPlans(hosts: readonly string[]) {
    return plans.listSignedPlans(this.db, hosts);
  }
  getSignedPlan(host: string) {
    return plans.getSignedPlan(this.db, host);
  }
  plansVersion() {
    return plans.plansVersion(this.db);
  }
  plansChangedSince(since: Date) {
    return planChanges.plansChangedSince(this.db, since);
  }

  ingestReports(host: string, batch: readonly ActionReport[], now: Date) {
    return reports.ingestReports(this.db, host, batch, now);
  }
  ingestReportBatches(batches: readonly ReportBatch[]) {
    return reports.ingestReportBatches(this.db, batches);
  }
  pruneReports(before: Date) {
    return reports.pruneReports(this.db, before);
  }

  history(host: string, actionId?: string) {
    return reports.history(this.db, host, actionId);
  }
  currentStates(filter?: StateFilter) {
    return reports.currentStates(this.db, filter);
  }
  actionStatuses(filter?: StatusFilter) {
    return planActions.actionStatuses(this.db, filter);
  }
  countStates(filter?: { readonly deployment?: string; readonly host?: string }) {
    return planActions.countStates(this.db, filter);
  }
  deploymentHosts(deployment: string, filter?: { readonly state?: StatusState }) {
    return planActions.deploymentHosts(this.db, deployment, filter);
  }

  recordDeploymentPolicies(policies: readonly DeploymentPolicy[], now: Date) {
    return deployments.recordDeploymentPolicies(this.db, policies, now);
  }
  listInstalled(filter?: { readonly host?: string; readonly deployment?: string; readonly hosts?: readonly string[] }) {
    return deployments.listInstalled(this.db, filter);
  }
  setSuspended(deployment: string, suspended: boolean, by: string, now: Date, reason?: string, gitSuspended?: boolean) {
    return deployments.setSuspended(this.db, deployment, suspended, by, now, reason, gitSuspended);
  }
  clearOverride(deployment: string) {
    return deployments.clearOverride(this.db, deployment);
  }
  listOverrides() {
    return deployments.listOverrides(this.db);
  }

  recordSourceAttempt(attempt: SourceAttempt) {
    return source.recordSourceAttempt(this.db, attempt);
  }
  getSourceStatus() {
    return source.getSourceStatus(this.db);
  }

  getMeta(key: string) {
    return meta.getMeta(this.db, key);
  }
  setMeta(key: string, value: string) {
    return meta.setMeta(this.db, key, value);
  }

  tryAcquireLeadership() {
    return this.leadership.tryAcquire();
  }
  releaseLeadership() {
    return this.leadership.release();
  }

  signalReplicas(signal: ReplicaSignal) {
    return this.signals.send(signal);
  }
  onReplicaSignal(listener: (signal: ReplicaSignal) => void) {
    return this.signals.listen(listener);
  }

  recordReplica(id: string, url: string, now: Date) {
    return replicas.recordReplica(this.db, id, url, now);
  }
  listReplicas(since: Date) {
    return replicas.listReplicas(this.db, since);
  }
  forgetReplica(id: string) {
    return replicas.forgetReplica(this.db, id);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.leadership.release();
    await this.signals.close();
    await this.db.destroy();
    await this.onClose();
  }
}
