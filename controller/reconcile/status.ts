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
  readonly error?: string;
}

export interface ReconcileStatus {
  readonly conditions: readonly Condition[];
  /** The revision whose plans are in force. */
  readonly appliedRevision?: string;
  /** The newest revision the reconciler has looked at (applied or rejected). */
  readonly observedRevision?: string;
  readonly lastRun?: ReconcileRun;
}

/** Observes reconcile passes (the controller wires it to the Prometheus histogram). */
export interface ReconcileMetrics {
  observe(outcome: ReconcileOutcome, seconds: number): void;
}

/** Replaces the condition of the same type, keeping its transition time when the status did not change. */
export function setCondition(
  conditions: readonly Condition[],
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const previous = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString();
  const order: ConditionType[] = ['Ready', 'Reconciling', 'Stalled'];
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }].sort(
    (a, b) => order.indexOf(a.type) - order.indexOf(b.type),
  );
}
