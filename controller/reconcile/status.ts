/**
 * The reconciler's status, Flux style: a small fixed set of conditions, each with a
 * reason, a message and the revision it observed.
 */

export type ConditionType = 'Ready' | 'Reconciling' | 'Stalled';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export type ConditionReason =
  /** Plans match the applied revision and the latest inventories. */
  | 'Succeeded'
  /** A reconcile pass is running. */
  | 'Progressing'
  /** The last pass failed (store, signing); it is retried with backoff. */
  | 'ProgressingWithRetry'
  | 'ReconcileFailed'
  /** The newest revision does not validate; the last good one stays in force. */
  | 'ValidationFailed'
  /** No revision has been fetched (or none validated) yet. */
  | 'WaitingForSource';

export interface Condition {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly reason: ConditionReason;
  readonly message: string;
  readonly observedRevision?: string;
  /** When `status` last changed, RFC 3339. */
  readonly lastTransitionTime: string;
}

export type ReconcileOutcome = 'applied' | 'skipped' | 'rejected' | 'waiting' | 'failed';

export interface ReconcileRun {
  readonly outcome: ReconcileOutcome;
  readonly startedAt: string;
  readonly durationMs: number;
  /** Why the pass ran (coalesced triggers), sorted. */
  readonly triggers: readonly string[];
  /** Hosts whose plan was re-computed by this pass. */
  readonly replanned: number;
  /** Hosts whose serial rose, sorted. */
  readonly raised: readonly string[];
  /** Wall milliseconds of each step that ran (observe, fleet, plan, diff, act, upkeep), in order. */
  readonly stepsMs?: Readonly<Record<string, number>>;
  readonly error?: string;
}

export interface ReconcileStatus {
  readonly conditions: readonly Condition[];
  /** The revision whose plans are in force. */
  readonly appliedRevision?: string;
  /** The newest revision the reconciler has looked at (applied or rejected). */
  readonly observedRevision?: string;
  readonly lastRun?: ReconcileRun;
  /** Work done since start: what onboarding and inventory churn cost. */
  readonly counters: ReconcileCounters;
}

/** Cumulative work of the reconciler since it started. */
export interface ReconcileCounters {
  /** Passes run (skipped ones included). */
  readonly passes: number;
  /** Host plans computed, summed over passes. */
  readonly hostsPlanned: number;
  /** Inventories read from the store because they changed (or, on start, all of them). */
  readonly inventoriesRead: number;
  /** Action statuses of rollout deployments read from the store (all of them on a first pass or a new revision). */
  readonly rolloutStatusesRead: number;
}

/** Observes reconcile passes (the controller wires it to the Prometheus histogram). */
export interface ReconcileMetrics {
  observe(outcome: ReconcileOutcome, seconds: number): void;
}

/** Replaces the condition of the same type, keeping its transition time when the status did not change. */
export function setCondition(conditions: readonly Condition[], next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const previous = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString();
  const order: ConditionType[] = ['Ready', 'Reconciling', 'Stalled'];
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}

/** What a pass's outcome says about the source, for `conditionsAfter`. */
export interface PassSummary {
  readonly outcome: ReconcileOutcome;
  readonly error?: string;
  readonly observedRevision?: string;
  readonly appliedRevision?: string;
  readonly rejectedRevision?: string;
}

/** The conditions after a pass (Reconciling back to False unless it failed; Ready and Stalled from its outcome). */
export function conditionsAfter(conditions: readonly Condition[], pass: PassSummary, now: Date): Condition[] {
  const rev = pass.observedRevision ? { observedRevision: pass.observedRevision } : {};
  const failed = pass.outcome === 'failed';
  const marks: Omit<Condition, 'lastTransitionTime'>[] = [
    {
      type: 'Reconciling',
      status: failed ? 'True' : 'False',
      reason: failed ? 'ProgressingWithRetry' : 'Succeeded',
      message: failed ? `retrying after: ${pass.error}` : 'idle',
      ...rev,
    },
  ];
  if (failed) {
    marks.push({ type: 'Ready', status: 'False', reason: 'ReconcileFailed', message: pass.error ?? 'reconcile failed', ...rev });
    marks.push({ type: 'Stalled', status: 'False', reason: 'ReconcileFailed', message: 'retrying', ...rev });
  } else if (pass.outcome === 'rejected') {
    const inForce = pass.appliedRevision ? `${pass.appliedRevision} stays in force` : 'no revision is in force yet';
    const message = `revision ${pass.rejectedRevision} does not validate; ${inForce}`;
    marks.push({ type: 'Ready', status: 'False', reason: 'ValidationFailed', message, ...rev });
    marks.push({ type: 'Stalled', status: 'True', reason: 'ValidationFailed', message: 'waiting for a commit that fixes the manifests', ...rev });
  } else if (pass.outcome === 'waiting') {
    marks.push({ type: 'Ready', status: 'Unknown', reason: 'WaitingForSource', message: 'no revision fetched yet', ...rev });
    marks.push({ type: 'Stalled', status: 'False', reason: 'WaitingForSource', message: 'waiting for the source', ...rev });
  } else {
    marks.push({ type: 'Ready', status: 'True', reason: 'Succeeded', message: `plans are up to date with ${pass.appliedRevision}`, ...rev });
    marks.push({ type: 'Stalled', status: 'False', reason: 'Succeeded', message: 'not stalled', ...rev });
  }
  return marks.reduce<Condition[]>((list, c) => setCondition(list, c, now), [...conditions]);
}
