/**
 * The reconcile loop (DESIGN §2, STYLE "Flux"): a thin `reconcile` pass that runs
 * observe → load/validate → plan → diff → act from the whole current state, and records
 * status in a `finally`. Passes never overlap; triggers that arrive during a pass are
 * coalesced into the next one.
 */
import type { Logger } from 'pino';
import { resolveGroups } from '../../core/groups/index.js';
import type { Snapshot } from '../../core/manifest/types.js';
import type { ContentSource, Inventory } from '../../core/plan/types.js';
import type { Availability, ContentIngester } from '../content/ingest.js';
import { backoffDelay } from '../../lib/backoff.js';
import type { ManifestSource } from '../source/source.js';
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
  /**
   * Ingests and verifies each applied revision's artifacts; an artifact it reports unavailable
   * blocks every install of it. Absent: every artifact counts as available (tests, tools).
   */
  readonly content?: ContentIngester;
  /** How soon artifacts that could not be fetched are tried again; default 5 minutes. */
  readonly contentRetryMs?: number;
  /** Report history older than this is deleted, checked once an hour; absent: kept for ever. */
  readonly reportRetentionMs?: number;
}

/** An artifact no plan may point at, with the packages that name it and why. */
export interface UnavailableContent {
  readonly sha256: string;
  /** `name@version` of each package whose artifact it is, sorted. */
  readonly packages: readonly string[];
  readonly reason: string;
}

/** The meta key under which the leader records unavailable content for every replica's `/v1/status`. */
export const unavailableContentKey = 'content.unavailable';
/** `by` of the override Ferry records when a rollout exceeds its maxFailures. */
export const rolloutSuspender = 'ferry:rollout';

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
  private lastPrune = Number.NEGATIVE_INFINITY;
  /** Hosts that take part in a deployment with rollout waves: their reports can advance a wave. */
  private rolloutHosts = new Set<string>();
  /** Availability of the artifacts of `contentRevision`, and whether it must be checked again. */
  private availability: ReadonlyMap<string, Availability> = new Map();
  private contentRevision: string | undefined;
  private contentDirty = false;
  private unavailableRecorded: string | undefined;
  private contentRetry: NodeJS.Timeout | undefined;
  /** Group membership of the last planned inputs, resolved on first read. */
  private groupInputs: { readonly snapshot: Snapshot; readonly inventories: readonly Inventory[] } | undefined;
  private groupCache: ReadonlyMap<string, ReadonlySet<string>> | undefined;

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
    this.contentRetry = undefined;
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

  /** The API calls this when content was stored; an artifact that was unavailable is checked again. */
  contentChanged(sha256: string): Promise<void> {
    const known = this.availability.get(sha256);
    if (known === undefined || known.available) return Promise.resolve();
    this.options.content?.forget(sha256);
    return this.trigger(`content:${sha256}`);
  }

  /** Artifacts of the applied revision that no plan points at, and why. */
  unavailableContent(): readonly UnavailableContent[] {
    return describeUnavailable(this.applied ?? this.desired, this.availability);
  }

  /**
   * Group name → member hosts, as the last planned revision resolves them against the
   * inventories of that pass; resolved on first read after each pass, then cached.
   */
  groups(): ReadonlyMap<string, ReadonlySet<string>> | undefined {
    if (this.groupCache === undefined && this.groupInputs !== undefined) {
      this.groupCache = resolveGroups(this.groupInputs.snapshot, this.groupInputs.inventories);
    }
    return this.groupCache;
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
    if (triggers.some((t) => t.startsWith('content'))) this.contentDirty = true;
    try {
      await this.pruneIfDue(now);
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
      const delay = backoffDelay(this.failures - 1, { baseMs: 1000, maxMs: this.options.maxRetryMs ?? 60_000, minMs: 50 });
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
    // Progress counts the actions of the current (stored) plans only: a report on an action that
    // has since left a host's plan, or came back to it, is history, not a failure of this rollout.
    const statuses = await Promise.all([...rolloutDeployments].map((deployment) => store.actionStatuses({ deployment })));
    const rollout = rolloutProgress(statuses.flat());
    const suspended = new Set(overrides.filter((o) => o.suspended).map((o) => o.deployment));
    const resumed = new Set(overrides.filter((o) => !o.suspended).map((o) => o.deployment));
    const unavailable = await this.checkContent(desired);

    const key = JSON.stringify({
      revision: desired.revision,
      inventories: inventoryRecords.map((r) => [r.inventory.host, r.hash]),
      installed: installed.map((i) => [i.host, i.deployment, i.package, i.version, i.onLeave]),
      suspended: [...suspended].sort(),
      resumed: [...resumed].sort(),
      unavailable: [...unavailable],
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
      resumed,
      unavailable,
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
    this.groupInputs = { snapshot: desired, inventories: inputs.inventories };
    this.groupCache = undefined;
    await this.recordUnavailable(desired);
    await this.recordSelfSuspensions(pass.result, overrides, now);
    this.rolloutHosts = new Set(
      [...pass.result.plans].filter(([, p]) => p.actions.some((a) => rolloutDeployments.has(a.deployment))).map(([h]) => h),
    );
    if (raised.length > 0) logger.info({ hosts: raised.map((r) => `${r.host}#${r.serial}`).slice(0, 50), count: raised.length }, 'reconcile: plans changed');
    return { skipped: false, replanned: pass.replanned, raised: raised.map((r) => r.host) };
  }

  /**
   * The artifacts of `desired` that are unavailable, sha256 → reason. Ingests a revision once,
   * and again when content was pushed or a failed fetch is due for another try.
   */
  private async checkContent(desired: Snapshot): Promise<ReadonlyMap<string, string>> {
    const { content, source, logger } = this.options;
    if (content === undefined) return new Map();
    if (desired.revision !== this.contentRevision || this.contentDirty) {
      this.contentDirty = false;
      const packages = [...desired.packages.values()].flatMap((versions) => [...versions.values()]);
      const t0 = performance.now();
      this.availability = await content.ingest(
        packages,
        (path) => source.readFile(desired.revision, path),
        desired.revision,
        // A download that outlived this pass: check again (and plan its installs) once it ends.
        (sha256) => void this.trigger(`content-fetched:${sha256}`),
      );
      this.contentRevision = desired.revision;
      const missing = describeUnavailable(desired, this.availability);
      const log = { revision: desired.revision, artifacts: this.availability.size, unavailable: missing.length, ms: Math.round(performance.now() - t0) };
      if (missing.length > 0) {
        logger.warn({ ...log, reasons: missing.slice(0, 20).map((m) => `${m.packages.join(', ')}: ${m.reason}`) }, 'reconcile: content unavailable; installs of it are blocked');
      } else logger.info(log, 'reconcile: content checked');
      // A fetch may work later (a URL that was down, an artifact published late); a push says so itself.
      const fetchable = new Set(packages.filter((p) => p.spec.artifact.source !== undefined).map((p) => p.spec.artifact.sha256));
      if (missing.some((m) => fetchable.has(m.sha256))) this.armContentRetry();
    }
    const unavailable = new Map<string, string>();
    for (const [sha, a] of this.availability) if (!a.available) unavailable.set(sha, a.reason);
    return unavailable;
  }

  /** One pending re-check of unavailable content at a time. */
  private armContentRetry(): void {
    if (this.contentRetry !== undefined || this.stopped) return;
    this.contentRetry = setTimeout(() => {
      this.timers.delete(this.contentRetry!);
      this.contentRetry = undefined;
      void this.trigger('content-retry');
    }, this.options.contentRetryMs ?? 5 * 60_000);
    this.contentRetry.unref();
    this.timers.add(this.contentRetry);
  }

  /** Records the unavailable content for `/v1/status` (on any replica) when it changed. */
  private async recordUnavailable(desired: Snapshot): Promise<void> {
    if (this.options.content === undefined) return;
    const text = JSON.stringify({ revision: desired.revision, unavailable: describeUnavailable(desired, this.availability) });
    if (text === this.unavailableRecorded) return;
    await this.options.store.setMeta(unavailableContentKey, text);
    this.unavailableRecorded = text;
  }

  /**
   * A deployment that suspended itself (a rollout exceeded maxFailures) is recorded as an
   * override by `ferry:rollout` with the reason, so the suspension outlives this process and the
   * rollout progress it was computed from; an operator's resume replaces it.
   */
  private async recordSelfSuspensions(result: R, overrides: readonly { readonly deployment: string }[], now: Date): Promise<void> {
    const { store, logger } = this.options;
    const overridden = new Set(overrides.map((o) => o.deployment));
    for (const [name, outcome] of result.deployments ?? []) {
      if (outcome.suspended !== 'self' || overridden.has(name)) continue;
      const reason = outcome.selfSuspended ?? 'rollout maxFailures exceeded';
      await store.setSuspended(name, true, rolloutSuspender, now, reason);
      logger.warn({ deployment: name, reason }, 'reconcile: deployment suspended by its rollout (maxFailures); `ferry resume` continues it');
    }
  }

  /** Deletes report history older than the retention, at most once an hour; a failure is logged, not fatal. */
  private async pruneIfDue(now: Date): Promise<void> {
    const keep = this.options.reportRetentionMs;
    if (keep === undefined || now.getTime() - this.lastPrune < hourMs) return;
    this.lastPrune = now.getTime();
    const before = new Date(now.getTime() - keep);
    try {
      const pruned = await this.options.store.pruneReports(before);
      if (pruned > 0) this.options.logger.info({ pruned, before: before.toISOString() }, 'reconcile: report history pruned');
    } catch (err) {
      this.options.logger.warn({ err }, 'reconcile: pruning report history failed; trying again in an hour');
    }
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

/** The unavailable artifacts of a snapshot with the packages naming them, by sha256. */
function describeUnavailable(snapshot: Snapshot | undefined, availability: ReadonlyMap<string, Availability>): UnavailableContent[] {
  if (snapshot === undefined) return [];
  const names = new Map<string, string[]>();
  for (const versions of snapshot.packages.values()) {
    for (const p of versions.values()) {
      const list = names.get(p.spec.artifact.sha256) ?? [];
      list.push(`${p.metadata.name}@${p.spec.version}`);
      names.set(p.spec.artifact.sha256, list);
    }
  }
  const out: UnavailableContent[] = [];
  for (const [sha256, a] of availability) {
    if (!a.available) out.push({ sha256, packages: (names.get(sha256) ?? []).sort(), reason: a.reason });
  }
  return out;
}
