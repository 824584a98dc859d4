/**
 * The controller's state (DESIGN §6): the one seam through which anything is read from or
 * written to the database. `openStore()` (open-store.ts) returns the kysely implementation,
 * which runs on SQLite and PostgreSQL with the same code.
 *
 * Conventions:
 * - every returned object is a plain, frozen-by-contract readonly value; JSON columns come back parsed;
 * - times are taken as `Date` and returned as RFC 3339 UTC strings (`toISOString()` form);
 * - results the caller must decide about (a refused enrollment, an unknown token) are returned,
 *   not thrown; a throw is a broken database or a bug.
 */
import type { ReplicaSignal } from './replica-signals.js';
import type { Problem } from '../../core/manifest/types.js';
import type { ActionReport, ActionState, HostPlan, Inventory, PlannedStatus } from '../../core/plan/types.js';

// ---------------------------------------------------------------- enrollment tokens

export interface CreatedToken {
  /** The secret, shown once; only its sha256 is stored. */
  readonly token: string;
  /** What names it in `listTokens` and `revokeToken`: the first 12 hex digits of its sha256. */
  readonly id: string;
  readonly expiresAt: string;
}

/** An enrollment token as an admin sees it: never the secret. */
export interface TokenRecord {
  readonly id: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly uses: number;
  readonly lastUsedAt?: string;
  readonly revokedAt?: string;
}

export type RevokeResult = { readonly token: TokenRecord } | { readonly error: 'unknown-token' | 'ambiguous' };

export type TokenCheck = { readonly ok: true; readonly expiresAt: string; readonly uses: number } | { readonly ok: false; readonly error: 'unknown-token' | 'expired' };

// ---------------------------------------------------------------- hosts

/** `enrolled`: holds a credential; `reset`: an admin revoked it, the name may enroll again. */
export type HostEnrollment = 'enrolled' | 'reset';

export interface HostRecord {
  readonly host: string;
  readonly state: HostEnrollment;
  /** Facts and labels given at enrollment (the latest inventory is kept apart). */
  readonly facts: Readonly<Record<string, unknown>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly enrolledAt: string;
  readonly resetAt?: string;
  readonly lastSeenAt?: string;
}

export interface EnrollRequest {
  readonly host: string;
  /** sha256 (hex) of the credential handed to the agent. */
  readonly credentialHash: string;
  readonly facts: Readonly<Record<string, unknown>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly now: Date;
}

export type EnrollResult = { readonly host: HostRecord } | { readonly error: 'host-exists' };

/** An enrollment as the API receives it: the token is checked and counted with the host's insert. */
export interface EnrollAttempt extends EnrollRequest {
  readonly token: string;
}

export type EnrollAttemptResult = EnrollResult | { readonly error: 'unknown-token' | 'expired' };

export type ResetResult = { readonly host: HostRecord } | { readonly error: 'unknown-host' };

export interface HostCredential {
  readonly host: string;
  readonly credentialHash: string;
}

export interface HostPage {
  readonly hosts: readonly HostRecord[];
  /** Hosts matching the filter, all pages together. */
  readonly total: number;
}

// ---------------------------------------------------------------- inventories

export interface InventoryRecord {
  readonly inventory: Inventory;
  /** sha256 (hex) of the JCS form of the inventory. */
  readonly hash: string;
  /** When the content last changed (a re-sent identical inventory does not move it). */
  readonly updatedAt: string;
  /** When it was last received. */
  readonly reportedAt: string;
}

export interface PutInventoryResult {
  readonly hash: string;
  /** False when the stored inventory already had this hash. */
  readonly changed: boolean;
}

// ---------------------------------------------------------------- plans

export interface PlanEntry {
  readonly host: string;
  /** The caller's hash of `body` (e.g. sha256 of its JCS form); the serial rises only when it changes. */
  readonly hash: string;
  readonly body: HostPlan;
  readonly revision: string;
  /**
   * The plan the caller last saved for this host, when it knows it: if the stored plan still has
   * that hash, its action rows are known from this body and not read back.
   */
  readonly previous?: { readonly hash: string; readonly body: HostPlan };
}

export interface PlanRecord {
  readonly host: string;
  readonly serial: number;
  readonly hash: string;
  readonly revision: string;
  readonly body: HostPlan;
  readonly generatedAt: string;
  /** The signed plan document as served to the agent, when one was stored. */
  readonly signed?: string;
}

/** The plan as saved, before it has a signed document. */
export type UnsignedPlanRecord = Omit<PlanRecord, 'signed'>;

export interface SavePlansOptions {
  /**
   * Called for each plan whose serial rises, before its batch is written: returns the signed
   * document stored with it, so a replica never serves a new serial without its signature. May
   * answer later (signing on other threads): a batch's documents are awaited together.
   */
  readonly sign?: (plan: UnsignedPlanRecord) => string | Promise<string>;
  /**
   * True when each signed document is a plan document holding the body's `host`, `sources` and
   * `actions` (and every document later given to `putSignedPlans` too): the body is then not
   * stored a second time, and read back from the document.
   */
  readonly documentHoldsBody?: boolean;
  /** Plans per transaction; default 500. */
  readonly batchSize?: number;
}

/** What a plan poll needs: the signed document and its sha256 (the ETag), without the plan body. */
export interface SignedPlan {
  readonly host: string;
  readonly serial: number;
  readonly signed: string;
  /** Hex sha256 of `signed` (UTF-8). */
  readonly sha256: string;
  /** When the document was signed (raised or re-signed): what `plansChangedSince` lists it by. */
  readonly generatedAt: Date;
}

export interface RaisedSerial {
  readonly host: string;
  readonly serial: number;
}

/** A host's current plan serial, and when its document was last signed (a raise or a re-sign). */
export interface PlanSerial extends RaisedSerial {
  readonly generatedAt: Date;
}

/** A controller replica sharing the database: the URL its peers reach it at, and when it last said so. */
export interface ReplicaRecord {
  readonly id: string;
  readonly url: string;
  readonly seenAt: Date;
}

/** A plan's signed document as stored. */
export interface StoredSignedPlan {
  readonly host: string;
  readonly serial: number;
  readonly signed: string;
}

/** A document to store for a plan, only while the plan still has `serial`. */
export interface SignedPlanDocument extends StoredSignedPlan {
  /** The document's generatedAt: stored as the plan's time, so `plansChangedSince` sees the re-sign. */
  readonly signedAt: Date;
}

// ---------------------------------------------------------------- reports

export interface IngestResult {
  /** Reports stored now. */
  readonly accepted: number;
  /** Reports whose id this host had already reported (or repeated within the batch): nothing changed. */
  readonly duplicates: number;
  /** Action ids whose current state moved forward, with the state they moved to, sorted by action id. */
  readonly advanced: readonly { readonly actionId: string; readonly state: ActionState }[];
}

/** One agent's reports as one `ingestReports` call would take them. */
export interface ReportBatch {
  readonly host: string;
  readonly reports: readonly ActionReport[];
  readonly now: Date;
}

export interface ReportRecord extends ActionReport {
  readonly host: string;
  readonly receivedAt: string;
}

/** The current state of one action on one host: its newest report. */
export interface ActionStateRecord {
  readonly host: string;
  readonly actionId: string;
  /** Parsed from `DEPLOYMENT/PACKAGE@VERSION/OP`; absent when the id has another shape. */
  readonly deployment?: string;
  readonly package?: string;
  readonly version?: string;
  readonly op?: 'install' | 'uninstall';
  readonly state: ActionState;
  readonly at: string;
  readonly report: ActionReport;
}

/**
 * A state as status shows it: the agent's reported state, or, before it reported on the action,
 * the planner's status (`planned` and `unknown` read as `pending`; `blocked` is only ever planned).
 */
export type StatusState = ActionState | 'blocked';

/**
 * One action of a host's current plan with the state status shows for it. The agent's report
 * counts when it was made for a plan serial at or after the one from which the action has been in
 * the host's plan without a break (the agent does not re-report a finished action on every new
 * serial; a report from before the action left and came back is history only).
 */
export interface ActionStatusRecord {
  readonly host: string;
  readonly actionId: string;
  readonly deployment: string;
  readonly package: string;
  readonly version: string;
  readonly op: 'install' | 'uninstall';
  readonly plannedStatus: PlannedStatus;
  /** The planner's reason (why not applicable, why blocked). */
  readonly plannedReason?: string;
  readonly state: StatusState;
  /** The report that gives `state`; absent while the agent has not reported on this action. */
  readonly report?: ActionReport;
}

export interface StatusFilter {
  readonly deployment?: string;
  readonly host?: string;
  /** Only these hosts (e.g. one page of a deployment's hosts). */
  readonly hosts?: readonly string[];
  readonly state?: StatusState;
  /** At most this many records (the first by host, then action id). */
  readonly limit?: number;
}

export interface StateCount {
  readonly deployment: string;
  readonly state: StatusState;
  readonly count: number;
}

export interface StateFilter {
  readonly deployment?: string;
  readonly host?: string;
  readonly state?: ActionState;
}

// ---------------------------------------------------------------- installed records, deployments

export type OnLeave = 'keep' | 'uninstall';

/** "What Ferry installed where", kept from `installed`/`uninstalled` reports (DESIGN §2, onLeave). */
export interface InstalledRecord {
  readonly host: string;
  readonly deployment: string;
  readonly package: string;
  readonly version: string;
  /** The deployment's last known `onLeave` (`keep` when never recorded). */
  readonly onLeave: OnLeave;
  readonly installedAt: string;
}

export interface DeploymentPolicy {
  readonly deployment: string;
  readonly onLeave: OnLeave;
}

/** An operator's suspend or resume, stored next to `spec.suspended` from git. */
export interface DeploymentOverride {
  readonly deployment: string;
  readonly suspended: boolean;
  readonly by: string;
  readonly at: string;
  /** Why, when the controller itself suspended it (`by: 'ferry:rollout'`: maxFailures exceeded). */
  readonly reason?: string;
  /** `spec.suspended` in git when it was set; a later change of that field in git supersedes the override. */
  readonly gitSuspended?: boolean;
}

/**
 * True while an override is in force: git's `spec.suspended` (`spec`, undefined when the deployment
 * is not in git) is still what it was when the override was set. A change of the field in git is the
 * later intent and wins; an override set without knowing git's value stays until cleared.
 */
export function overrideInForce(override: DeploymentOverride, spec: boolean | undefined): boolean {
  return override.gitSuspended === undefined || spec === undefined || spec === override.gitSuspended;
}

// ---------------------------------------------------------------- source status

export interface SourceAttempt {
  readonly revision: string;
  /** True when the revision validated and was applied. */
  readonly ok: boolean;
  /** Why it was rejected (every problem, with its position). */
  readonly problems?: readonly Problem[];
  /** A rejection that is not about one file (e.g. the fetch failed). */
  readonly message?: string;
  readonly at: Date;
}

/** Flux-style: what is in force, what was last tried, and why the last rejected revision was refused. */
export interface SourceStatusRecord {
  readonly lastAppliedRevision?: string;
  readonly lastAppliedAt?: string;
  readonly lastAttemptedRevision?: string;
  readonly lastAttemptedAt?: string;
  readonly lastAttemptOk?: boolean;
  /** The newest rejected revision; kept until a later revision applies. */
  readonly rejected?: {
    readonly revision: string;
    readonly at: string;
    readonly problems: readonly Problem[];
    readonly message?: string;
  };
}

// ---------------------------------------------------------------- the store

export interface Store {
  /** `sqlite` or `postgres`. */
  readonly dialect: 'sqlite' | 'postgres';

  /** Makes a multi-use enrollment token valid until `now + ttlMs` (one token enrolls a fleet). */
  createToken(options: { readonly ttlMs: number; readonly now: Date }): Promise<CreatedToken>;
  /** Checks a token and counts its use; it stays valid until it expires. */
  consumeToken(token: string, now: Date): Promise<TokenCheck>;
  /** Every enrollment token, newest first (expired and revoked ones too). */
  listTokens(): Promise<readonly TokenRecord[]>;
  /** Ends a token now: `idOrToken` is its id (or a longer prefix of its sha256) or the secret itself. */
  revokeToken(idOrToken: string, now: Date): Promise<RevokeResult>;

  /** Enrolls a host; refused while that name holds a credential (until `resetHost`). */
  enrollHost(request: EnrollRequest): Promise<EnrollResult>;
  /**
   * Many enrollments in one transaction, each decided as `consumeToken` then `enrollHost` would
   * in the given order (a name twice: the second is `host-exists`); one result per attempt, in order.
   */
  enrollHosts(attempts: readonly EnrollAttempt[]): Promise<readonly EnrollAttemptResult[]>;
  /** Revokes a host's credential so the name may enroll again; its records stay. */
  resetHost(host: string, now: Date): Promise<ResetResult>;
  /** The host holding a credential with this hash; the caller still compares in constant time. */
  findHostByCredentialHash(credentialHash: string): Promise<HostCredential | undefined>;
  getHost(host: string): Promise<HostRecord | undefined>;
  /** Hosts by name. */
  listHosts(options: { readonly offset?: number; readonly limit?: number; readonly state?: HostEnrollment }): Promise<HostPage>;
  /** Records that a host was heard from. */
  markSeen(host: string, now: Date): Promise<void>;
  /** Many hosts' last seen in one transaction; an earlier time than the stored one changes nothing. */
  markSeenMany(entries: readonly { readonly host: string; readonly at: Date }[]): Promise<void>;
  /** A token that changes whenever `resetHost` revokes a credential, whichever process sharing the database did it. */
  credentialsVersion(): Promise<string>;
  /** Hosts reset at or after `since`, by name (a replica's credential cache forgets them). */
  resetSince(since: Date): Promise<readonly string[]>;

  /** Stores a host's latest inventory; `changed` tells the reconciler whether to re-plan it. */
  putInventory(inventory: Inventory, now: Date): Promise<PutInventoryResult>;
  /** Many inventories in one transaction, each as `putInventory` then `markSeen` would; one result per item, in order. */
  putInventories(items: readonly { readonly inventory: Inventory; readonly now: Date }[]): Promise<readonly PutInventoryResult[]>;
  getInventory(host: string): Promise<InventoryRecord | undefined>;
  /**
   * Every latest inventory by host name; with `changedSince`, only those whose content changed
   * after it; with `hosts`, only those hosts' (the reconciler reads only what changed).
   */
  listInventories(options?: { readonly changedSince?: Date; readonly hosts?: readonly string[] }): Promise<readonly InventoryRecord[]>;
  /** Host → the content hash of its latest inventory, without the documents: a cheap "what changed". */
  inventoryHashes(): Promise<ReadonlyMap<string, string>>;
  /**
   * A token that changes whenever an inventory's content or an installed record changes (in the
   * transaction that changes it), whichever process wrote it. Compare for equality only: read it
   * before reading the fleet, and an unchanged token says nothing was written since.
   */
  fleetGeneration(): Promise<string>;

  /**
   * Stores plans, one transaction per batch (each batch is atomic, the call is not: a reader may
   * see some hosts' new plans before others'). Per host the serial rises by one only when `hash` differs
   * from the stored one (a new host starts at 1); an unchanged entry writes nothing, not even its
   * revision. A raised plan's actions replace the host's rows read by `actionStatuses`. Returns the
   * hosts whose serial rose, sorted by host. Throws when another writer raised one of the same
   * serials meanwhile (that batch is not saved; batches before it are).
   */
  savePlans(entries: readonly PlanEntry[], now: Date, options?: SavePlansOptions): Promise<readonly RaisedSerial[]>;
  /** Replaces signed documents (e.g. re-signed with a later expiry); returns how many still had that serial. */
  putSignedPlans(documents: readonly SignedPlanDocument[]): Promise<number>;
  getPlan(host: string): Promise<PlanRecord | undefined>;
  /** The signed documents of those of `hosts` that have one, by host (read a slice of hosts per query). */
  listSignedPlans(hosts: readonly string[]): Promise<readonly StoredSignedPlan[]>;
  /** A host's signed plan document without parsing its body; undefined when none is signed yet. */
  getSignedPlan(host: string): Promise<SignedPlan | undefined>;
  /**
   * A token that changes whenever any stored signed plan document changes (`savePlans` raising a
   * serial, `putSignedPlans` replacing one), whichever process sharing the database wrote it.
   * Compare for equality only; lets a replica keep plan ETags in memory and re-check with one read.
   */
  plansVersion(): Promise<string>;
  /** Hosts whose serial rose or whose document was re-signed at or after `since` (by the plan's `generatedAt`), with the serial now stored; unordered. */
  plansChangedSince(since: Date): Promise<readonly PlanSerial[]>;

  /**
   * Stores an agent's reports in one transaction. Idempotent: a report id the host already
   * sent changes nothing. Keeps every report (history) and, per (host, actionId), the current
   * state, moved only by a report later by `at` (ties: the greater id). A current state that
   * becomes `installed` (install op) or `uninstalled` (uninstall op) updates the installed records.
   */
  ingestReports(host: string, reports: readonly ActionReport[], now: Date): Promise<IngestResult>;
  /** Group commit: many `ingestReports` calls in one transaction, in order; one result per batch. */
  ingestReportBatches(batches: readonly ReportBatch[]): Promise<readonly IngestResult[]>;
  /** A host's reports, oldest first (by `at`, then id). */
  history(host: string, actionId?: string): Promise<readonly ReportRecord[]>;
  /**
   * Deletes reports received before `before` (history only: current states stay), a slice at a
   * time so ingestion is never held up for long; returns how many went. A report sent again
   * after its copy was pruned is history again, and cannot move a current state backwards.
   */
  pruneReports(before: Date): Promise<number>;
  /** Reported current states, whether or not their action is still in a plan, by host then action id. */
  currentStates(filter?: StateFilter): Promise<readonly ActionStateRecord[]>;
  /**
   * The actions of current plans, each once, with the state status shows (see ActionStatusRecord),
   * by host then action id. States of actions in no current plan are history only.
   */
  actionStatuses(filter?: StatusFilter): Promise<readonly ActionStatusRecord[]>;
  /** Number of actions of current plans per deployment and status state, by deployment then state. */
  countStates(filter?: { readonly deployment?: string; readonly host?: string }): Promise<readonly StateCount[]>;
  /** The hosts whose current plan has an action of `deployment` (with `state`: one in that state), by name. */
  deploymentHosts(deployment: string, filter?: { readonly state?: StatusState }): Promise<readonly string[]>;

  /** Records the `onLeave` of deployments as applied from git; a deleted deployment keeps its last one. */
  recordDeploymentPolicies(policies: readonly DeploymentPolicy[], now: Date): Promise<void>;
  /** What Ferry installed where, by host, deployment, package; `hosts`: on those hosts only. */
  listInstalled(filter?: { readonly host?: string; readonly deployment?: string; readonly hosts?: readonly string[] }): Promise<readonly InstalledRecord[]>;

  /** Stores an operator's suspend (true) or resume (false) of a deployment; the latest one counts. */
  setSuspended(deployment: string, suspended: boolean, by: string, now: Date, reason?: string, gitSuspended?: boolean): Promise<DeploymentOverride>;
  /** Removes the operator's override: `spec.suspended` from git alone applies again. */
  clearOverride(deployment: string): Promise<void>;
  listOverrides(): Promise<readonly DeploymentOverride[]>;

  recordSourceAttempt(attempt: SourceAttempt): Promise<SourceStatusRecord>;
  getSourceStatus(): Promise<SourceStatusRecord>;

  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  /**
   * True when this process is the leader now (and stays so while its lock lives). Call it before
   * each leader-only step: after a lost connection it returns false, then tries again on the next call.
   * PostgreSQL: a session advisory lock on one dedicated connection; SQLite: a lock file beside the database.
   */
  tryAcquireLeadership(): Promise<boolean>;
  /** Gives leadership up; another process's next `tryAcquireLeadership()` may take it. */
  releaseLeadership(): Promise<void>;

  /**
   * Wake-up calls between replicas (replica-signals.ts): PostgreSQL NOTIFY, heard by LISTEN on one
   * dedicated connection; SQLite (one controller): nothing is sent or heard. Hints only: what they
   * announce is in the tables already, and receivers keep polling.
   */
  signalReplicas(signal: ReplicaSignal): Promise<boolean>;
  /** Calls `listener` for each signal another process sends; returns how to stop. */
  onReplicaSignal(listener: (signal: ReplicaSignal) => void): () => void;

  /** Records (or refreshes) this replica's URL, for peers fetching content from it. */
  recordReplica(id: string, url: string, now: Date): Promise<void>;
  /** Replicas that recorded themselves at or after `since`, most recent first. */
  listReplicas(since: Date): Promise<readonly ReplicaRecord[]>;
  forgetReplica(id: string): Promise<void>;

  /** Releases leadership and closes every connection; the store is unusable afterwards. */
  close(): Promise<void>;
}
