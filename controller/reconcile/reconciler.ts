/**
 * The reconcile loop (DESIGN §2, STYLE "Flux"): a thin `reconcile` pass that runs
 * observe → load/validate → plan → diff → act from the whole current state, and records
 * status in a `finally`. Passes never overlap; triggers that arrive during a pass are
 * coalesced into the next one.
 */
import type { Logger } from 'pino';
import type { Snapshot } from '../../core/manifest/types.js';
import type { ContentSource } from '../../core/plan/types.js';
import { backoffDelay, type ManifestSource } from '../source/source.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import { needsResigning, planLifetimeMs, resignBeforeMs, signPlan } from './plan-document.js';
import type { FleetPlanResult, Planning, PlanningInputs } from './planning.js';
import { rolloutKey, rolloutProgress } from './rollout.js';
import {
  setCondition,
  type Condition,
  type ReconcileMetrics,
  type ReconcileOutcome,
  type ReconcileRun,
  type ReconcileStatus,
} from './status.js';

export interface ReconcilerOptions<R extends FleetPlanResult = FleetPlanResult> {
  readonly store: Store;
  readonly source: ManifestSource;
  readonly planning: Planning<R>;
  /** PKCS8 PEM of the controller's ed25519 key. */
  readonly signingKey: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: ReconcileMetrics;
  /** The controller as a content source in every plan (planner default when absent). */
  readonly controllerSource?: ContentSource;
  /** Longest wait before retrying a failed pass; default 60 s. */
  readonly maxRetryMs?: number;
}

const hourMs = 60 * 60 * 1000;

export class Reconciler<R extends FleetPlanResult = FleetPlanResult> {
  private conditions: Condition[] = [];
  private appliedRevision: string | undefined;
  private observedRevision: string | undefined;
  private lastRun: ReconcileRun | undefined;

  /** The last snapshot that validated and whose plans were saved. */
  private applied: Snapshot | undefined;
  /** The newest snapshot that validated (applied once its plans are saved). */
  private desired: Snapshot | undefined;
  /** The newest revision loaded (applied or rejected), so a revision is validated once. */
  private loadedRevision: string | undefined;
  private rejectedRevision: string | undefined;
  private previous: { inputs: PlanningInputs; result: R } | undefined;
  private inputsKey: string | undefined;
  /** When each host's current plan document was signed (for re-signing before expiry). */
  private signedAt = new Map<string, number>();
  private lastResignCheck = Number.NEGATIVE_INFINITY;
  /** Hosts that take part in a deployment with rollout waves: their reports can advance a wave. */
  private rolloutHosts = new Set<string>();

  private pending = new Set<string>();
  private waiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  private timers = new Set<NodeJS.Timeout>();
  private unsubscribe: (() => void) | undefined;
  private failures = 0;
  private stopped = true;

  constructor(private readonly options: ReconcilerOptions<R>) {}

  /** Subscribes to the source, arms the daily timer and runs a first pass. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.options.source.onSnapshot(() => this.trigger('source'));
    this.armDaily();
    this.trigger('start');
  }

  /** Stops triggering; resolves when a running pass has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.loop;
    for (const w of this.waiters.splice(0)) w();
  }

  /** The API calls this when a host's inventory content changed. */
  inventoryChanged(host: string): void {
    this.trigger(`inventory:${host}`);
  }

  /** The API calls this after ingesting reports; only hosts in a rollout can change a plan this way. */
  reportsIngested(host: string): void {
    if (this.rolloutHosts.has(host)) this.trigger(`reports:${host}`);
  }

  /** The API calls this after an operator suspended or resumed a deployment. */
  overridesChanged(): void {
    this.trigger('overrides');
  }

  /** Requests a pass; resolves once a pass that started after this call has finished. */
  trigger(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.pending.add(reason);
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.loop ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
    return done;
  }

  /** Runs a pass now and returns its record (tests and `ferry` tooling). */
  async reconcileNow(reason = 'manual'): Promise<ReconcileRun | undefined> {
    await this.trigger(reason);
    return this.lastRun;
  }

  /** The snapshot whose plans are in force (undefined before one validated). */
  appliedSnapshot(): Snapshot | undefined {
    return this.applied;
  }

  status(): ReconcileStatus {
    return {
      conditions: this.conditions,
      ...(this.appliedRevision ? { appliedRevision: this.appliedRevision } : {}),
      ...(this.observedRevision ? { observedRevision: this.observedRevision } : {}),
      ...(this.lastRun ? { lastRun: this.lastRun } : {}),
    };
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.size > 0 && !this.stopped) {
        const triggers = [...this.pending].sort();
        const waiters = this.waiters.splice(0);
        this.pending.clear();
        try {
          this.lastRun = await this.reconcile(triggers);
        } finally {
          for (const w of waiters) w();
        }
      }
    } finally {
      this.loop = undefined;
      for (const w of this.waiters.splice(0)) w();
      if (this.pending.size > 0 && !this.stopped) this.loop = this.drain();
    }
  }

  /** One pass over the whole current state; never throws, records its status in `finally`. */
  private async reconcile(triggers: readonly string[]): Promise<ReconcileRun> {
    const { clock, logger } = this.options;
    const now = clock.now();
    const t0 = performance.now();
    let outcome: ReconcileOutcome = 'failed';
    let error: string | undefined;
    let replanned = 0;
    let raised: readonly string[] = [];
    this.mark({ type: 'Reconciling', status: 'True', reason: 'Progressing', message: `reconciling (${triggers.join(', ')})` }, now);
    try {
      const desired = await this.observe(now);
      if (!desired) {
        outcome = this.rejectedRevision ? 'rejected' : 'waiting';
        return this.recordRun(outcome, now, t0, triggers, 0, []);
      }
      const step = await this.planAndAct(desired, now);
      replanned = step.replanned;
      raised = step.raised;
      await this.resignIfDue(now);
      outcome = this.rejectedRevision ? 'rejected' : step.skipped ? 'skipped' : 'applied';
      this.failures = 0;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      this.failures += 1;
      const delay = backoffDelay(this.failures, this.options.maxRetryMs ?? 60_000);
      logger.error({ err, failures: this.failures, retryInMs: delay }, 'reconcile: pass failed');
      this.after(delay, 'retry');
    } finally {
      this.recordStatus(outcome, error, clock.now());
    }
    return this.recordRun(outcome, now, t0, triggers, replanned, raised, error);
  }

  /** Observe + load/validate: the snapshot to plan from (the last good one when the newest is rejected). */
  private async observe(now: Date): Promise<Snapshot | undefined> {
    const { source, planning, store, logger } = this.options;
    const fetched = source.current();
    if (fetched && fetched.revision !== this.loadedRevision) {
      this.observedRevision = fetched.revision;
      const loaded = planning.load(fetched.files, fetched.revision);
      const errors = loaded.problems.filter((p) => p.severity === 'error');
      this.loadedRevision = fetched.revision;
      if (!loaded.snapshot || errors.length > 0) {
        this.rejectedRevision = fetched.revision;
        await store.recordSourceAttempt({ revision: fetched.revision, ok: false, problems: loaded.problems, at: now });
        logger.warn(
          {
            revision: fetched.revision,
            inForce: this.applied?.revision,
            problems: errors.slice(0, 20).map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`),
            errors: errors.length,
          },
          'reconcile: revision rejected, the last good revision stays in force',
        );
      } else {
        this.rejectedRevision = undefined;
        this.desired = loaded.snapshot;
      }
    }
    return this.desired;
  }

  /** Plan, diff, act: re-plans what changed and saves (and signs) the plans whose content changed. */
  private async planAndAct(desired: Snapshot, now: Date): Promise<{ skipped: boolean; replanned: number; raised: string[] }> {
    const { store, planning, logger, signingKey } = this.options;
    const [inventoryRecords, installed, overrides] = await Promise.all([
      store.listInventories(),
      store.listInstalled(),
      store.listOverrides(),
    ]);
    const rolloutDeployments = new Set([...desired.deployments].filter(([, d]) => d.spec.rollout).map(([name]) => name));
    const states = rolloutDeployments.size > 0 && this.previous ? await store.currentStates() : [];
    const rollout = rolloutProgress(this.previous?.result.plans ?? new Map(), states);
    for (const name of rollout.keys()) if (!rolloutDeployments.has(name)) rollout.delete(name);
    const suspended = new Set(overrides.filter((o) => o.suspended).map((o) => o.deployment));

    const key = JSON.stringify({
      revision: desired.revision,
      inventories: inventoryRecords.map((r) => [r.inventory.host, r.hash]),
      installed: installed.map((i) => [i.host, i.deployment, i.package, i.version, i.onLeave]),
      suspended: [...suspended].sort(),
      rollout: rolloutKey(rollout),
      // Windows are expanded per day: a new day is a new input.
      day: now.toISOString().slice(0, 10),
    });
    if (key === this.inputsKey && this.previous && this.applied === desired) {
      return { skipped: true, replanned: 0, raised: [] };
    }

    const inputs: PlanningInputs = {
      snapshot: desired,
      inventories: inventoryRecords.map((r) => r.inventory),
      now,
      installed,
      rollout,
      suspended,
      ...(this.options.controllerSource ? { controllerSource: this.options.controllerSource } : {}),
    };
    const pass = planning.plan(inputs, this.previous);
    const before = this.previous?.result.hashes;
    const entries = [...pass.result.plans]
      .filter(([host]) => before === undefined || before.get(host) !== pass.result.hashes.get(host))
      .map(([host, body]) => ({ host, hash: pass.result.hashes.get(host)!, body, revision: desired.revision }));
    const raised = entries.length === 0 ? [] : await store.savePlans(entries, now, {
      sign: (record) => JSON.stringify(signPlan(record, now, signingKey)),
    });
    for (const r of raised) this.signedAt.set(r.host, now.getTime());

    if (this.applied !== desired) {
      await store.recordDeploymentPolicies(
        [...desired.deployments].map(([deployment, d]) => ({ deployment, onLeave: d.spec.onLeave })),
        now,
      );
      await store.recordSourceAttempt({ revision: desired.revision, ok: true, at: now });
      logger.info({ revision: desired.revision, hosts: pass.result.plans.size, raised: raised.length }, 'reconcile: revision applied');
      this.applied = desired;
    }
    this.appliedRevision = desired.revision;
    this.previous = { inputs, result: pass.result };
    this.inputsKey = key;
    this.rolloutHosts = new Set(
      [...pass.result.plans].filter(([, p]) => p.actions.some((a) => rolloutDeployments.has(a.deployment))).map(([h]) => h),
    );
    if (raised.length > 0) logger.info({ hosts: raised.map((r) => `${r.host}#${r.serial}`).slice(0, 50), count: raised.length }, 'reconcile: plans changed');
    return { skipped: false, replanned: pass.replanned, raised: raised.map((r) => r.host) };
  }

  /**
   * Signs again (same serial, later expiry) every plan that would expire within a day, so an
   * agent whose plan never changes does not freeze. The first check after start reads every plan.
   */
  private async resignIfDue(now: Date): Promise<void> {
    if (!this.previous || now.getTime() - this.lastResignCheck < hourMs) return;
    const { store, signingKey, logger } = this.options;
    const firstCheck = this.lastResignCheck === Number.NEGATIVE_INFINITY;
    this.lastResignCheck = now.getTime();
    const documents = [];
    for (const host of this.previous.result.plans.keys()) {
      const signedAt = this.signedAt.get(host);
      if (!firstCheck && signedAt !== undefined && now.getTime() - signedAt < planLifetimeMs - resignBeforeMs) continue;
      const record = await store.getPlan(host);
      if (!record) continue;
      if (!needsResigning(record.signed, now)) {
        if (record.signed) this.signedAt.set(host, Date.parse((JSON.parse(record.signed) as { generatedAt: string }).generatedAt));
        continue;
      }
      documents.push({ host, serial: record.serial, signed: JSON.stringify(signPlan(record, now, signingKey)) });
      this.signedAt.set(host, now.getTime());
    }
    if (documents.length > 0) {
      const stored = await store.putSignedPlans(documents);
      logger.info({ resigned: stored }, 'reconcile: plans signed again before they expire');
    }
  }

  private recordStatus(outcome: ReconcileOutcome, error: string | undefined, now: Date): void {
    const revision = this.observedRevision;
    const rev = revision ? { observedRevision: revision } : {};
    this.mark({ type: 'Reconciling', status: outcome === 'failed' ? 'True' : 'False', reason: outcome === 'failed' ? 'ProgressingWithRetry' : 'Succeeded', message: outcome === 'failed' ? `retrying after: ${error}` : 'idle', ...rev }, now);
    if (outcome === 'failed') {
      this.mark({ type: 'Ready', status: 'False', reason: 'ReconcileFailed', message: error ?? 'reconcile failed', ...rev }, now);
      this.mark({ type: 'Stalled', status: 'False', reason: 'ReconcileFailed', message: 'retrying', ...rev }, now);
    } else if (outcome === 'rejected') {
      const inForce = this.applied ? `${this.applied.revision} stays in force` : 'no revision is in force yet';
      const message = `revision ${this.rejectedRevision} does not validate; ${inForce}`;
      this.mark({ type: 'Ready', status: 'False', reason: 'ValidationFailed', message, ...rev }, now);
      this.mark({ type: 'Stalled', status: 'True', reason: 'ValidationFailed', message: 'waiting for a commit that fixes the manifests', ...rev }, now);
    } else if (outcome === 'waiting') {
      this.mark({ type: 'Ready', status: 'Unknown', reason: 'WaitingForSource', message: 'no revision fetched yet', ...rev }, now);
      this.mark({ type: 'Stalled', status: 'False', reason: 'WaitingForSource', message: 'waiting for the source', ...rev }, now);
    } else {
      this.mark({ type: 'Ready', status: 'True', reason: 'Succeeded', message: `plans are up to date with ${this.appliedRevision}`, ...rev }, now);
      this.mark({ type: 'Stalled', status: 'False', reason: 'Succeeded', message: 'not stalled', ...rev }, now);
    }
  }

  private recordRun(
    outcome: ReconcileOutcome,
    startedAt: Date,
    t0: number,
    triggers: readonly string[],
    replanned: number,
    raised: readonly string[],
    error?: string,
  ): ReconcileRun {
    const durationMs = performance.now() - t0;
    this.options.metrics?.observe(outcome, durationMs / 1000);
    return {
      outcome,
      startedAt: startedAt.toISOString(),
      durationMs,
      triggers,
      replanned,
      raised,
      ...(error !== undefined ? { error } : {}),
    };
  }

  private mark(condition: Omit<Condition, 'lastTransitionTime'>, now: Date): void {
    this.conditions = setCondition(this.conditions, condition, now);
  }

  private after(delayMs: number, reason: string): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.trigger(reason);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** A pass shortly after each UTC midnight (windows are expanded per day) and an hourly re-sign check. */
  private armDaily(): void {
    const now = Date.now();
    const nextMidnight = Math.ceil((now + 1) / (24 * hourMs)) * 24 * hourMs + 1000;
    const untilNextCheck = Math.min(nextMidnight - now, hourMs);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.trigger(Date.now() >= nextMidnight ? 'daily' : 'resign-check');
      this.armDaily();
    }, untilNextCheck);
    timer.unref();
    this.timers.add(timer);
  }
}
