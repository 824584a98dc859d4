/**
 * The reconcile loop (DESIGN §2, STYLE "Flux"): a thin `reconcile` pass that runs its steps —
 * observe the source → load/validate → read what changed in the fleet → plan → diff → act — and
 * records status in a `finally`. Passes never overlap; triggers that arrive during a pass (or,
 * from agents, within `coalesceMs`) are coalesced into the next one. A pass costs work in
 * proportion to what changed (DESIGN §6): it reads only the changed hosts' records and the
 * planner re-plans only hosts whose inputs changed.
 */
import { planSigner, type PlanSigner } from '../keys/index.js';
import type { Logger } from 'pino';
import { resolveGroupsIndexed } from '../../core/groups/index.js';
import type { Snapshot } from '../../core/manifest/types.js';
import type { ContentSource } from '../../core/plan/types.js';
import type { Clock } from '../../lib/clock.js';
import type { ContentIngester } from '../content/ingest.js';
import { backoffDelay } from '../../lib/backoff.js';
import type { ManifestSource } from '../source/source.js';
import { overrideInForce, type DeploymentOverride, type PlanEntry, type Store, type UnsignedPlanRecord } from '../store/store.js';
import { ContentCheck, type UnavailableContent } from './content-check.js';
import { fleetChanges, refreshFleet, type FleetChanges, type FleetView } from './fleet-view.js';
import { emptyMemo, type ReconcileMemo } from './memo.js';
import { observeSource } from './observe.js';
import { planDocument, signPlan } from './plan-document.js';
import { SigningPool } from '../keys/signing-pool.js';
import type { FleetPlanResult, Planning, PlanningInputs, PlanningPass } from './planning.js';
import { keepUnchanged, rolloutProgress, statusChanges, updateRolloutProgress, type RolloutProgress } from './rollout.js';
import { Slicer } from './slices.js';
import {
  conditionsAfter,
  setCondition,
  type Condition,
  type ReconcileCounters,
  type ReconcileMetrics,
  type ReconcileOutcome,
  type ReconcileRun,
  type ReconcileStatus,
} from './status.js';
import { TriggerQueue } from './trigger-queue.js';
import { Upkeep } from './upkeep.js';

export { unavailableContentKey, type UnavailableContent } from './content-check.js';

export interface ReconcilerOptions<R extends FleetPlanResult = FleetPlanResult> {
  readonly store: Store;
  readonly source: ManifestSource;
  readonly planning: Planning<R>;
  /** PKCS8 PEM of the controller's ed25519 key. */
  readonly signingKey: string | PlanSigner;
  /** Told the hosts whose plans a pass stored, once stored (the API's poll cache drops them). */
  readonly onPlansRaised?: (hosts: readonly string[]) => void;
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
  /** How long inventory and report triggers wait to be planned together, ms; default 100. */
  readonly coalesceMs?: number;
}

/** `by` of the override Ferry records when a rollout exceeds its maxFailures. */
export const rolloutSuspender = 'ferry:rollout';

const hourMs = 60 * 60 * 1000;
const dayMs = 24 * hourMs;
const emptySet: ReadonlySet<string> = new Set();

/** What the plan step produced: the planning pass and the inputs it planned from. */
interface Planned<R extends FleetPlanResult> {
  readonly inputs: PlanningInputs;
  readonly key: string;
  readonly pass: PlanningPass<R>;
  readonly overrides: readonly DeploymentOverride[];
  readonly rolloutDeployments: ReadonlySet<string>;
}

export class Reconciler<R extends FleetPlanResult = FleetPlanResult> {
  private memo: ReconcileMemo<R> = emptyMemo as ReconcileMemo<R>;
  private conditions: Condition[] = [];
  private lastRun: ReconcileRun | undefined;
  private counters: ReconcileCounters = { passes: 0, hostsPlanned: 0, inventoriesRead: 0, rolloutStatusesRead: 0 };
  private failures = 0;
  private stopped = true;
  private unsubscribe: (() => void) | undefined;
  private dailyTimer: NodeJS.Timeout | undefined;
  private groupCache: { readonly snapshot: Snapshot; readonly fleet: FleetView; readonly groups: ReadonlyMap<string, ReadonlySet<string>> } | undefined;
  private readonly key: PlanSigner;
  /** Signs on worker threads when one key signs (no rotation under way). */
  private readonly signer: SigningPool | undefined;
  private readonly queue: TriggerQueue;
  private readonly content: ContentCheck;
  private readonly upkeep: Upkeep;

  constructor(private readonly options: ReconcilerOptions<R>) {
    this.key = typeof options.signingKey === 'string' ? planSigner(options.signingKey) : options.signingKey;
    this.signer = this.key.singleKeyPem === undefined ? undefined : new SigningPool(this.key.singleKeyPem);
    this.queue = new TriggerQueue({ pass: (triggers) => this.reconcile(triggers), coalesceMs: options.coalesceMs ?? 100 });
    this.content = new ContentCheck({
      ...(options.content ? { content: options.content } : {}),
      source: options.source,
      store: options.store,
      logger: options.logger,
      trigger: (reason) => void this.trigger(reason),
      after: (delayMs, reason) => this.queue.after(delayMs, reason),
      retryMs: options.contentRetryMs ?? 5 * 60_000,
    });
    this.upkeep = new Upkeep(options.store, this.key, options.logger, options.reportRetentionMs, (hosts) => this.options.onPlansRaised?.(hosts));
  }

  /** Subscribes to the source, arms the daily timer and runs a first pass. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.options.source.onSnapshot(() => void this.trigger('source'));
    this.armDaily();
    void this.trigger('start');
  }

  /** Stops triggering; resolves when a running pass has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.dailyTimer);
    await this.queue.stop();
    await this.signer?.close();
  }

  /** The API calls this when a host's inventory content changed (or the host enrolled). */
  inventoryChanged(host: string): void {
    void this.trigger(`inventory:${host}`);
  }

  /** The API calls this after ingesting reports; only hosts in a rollout can change a plan this way. */
  reportsIngested(host: string): void {
    if (this.memo.rolloutHosts.has(host)) void this.trigger(`reports:${host}`);
  }

  /** The API calls this after an operator suspended or resumed a deployment. */
  overridesChanged(): void {
    void this.trigger('overrides');
  }

  /** The API calls this when content was stored; an artifact that was unavailable is checked again. */
  contentChanged(sha256: string): Promise<void> {
    if (!this.content.isUnavailable(sha256)) return Promise.resolve();
    this.options.content?.forget(sha256);
    return this.trigger(`content:${sha256}`);
  }

  /** Artifacts of the applied revision that no plan points at, and why. */
  unavailableContent(): readonly UnavailableContent[] {
    return this.content.describe(this.memo.applied ?? this.memo.desired);
  }

  /**
   * Group name → member hosts, as the applied revision resolves them against the last pass's
   * inventories: the planner's when it says (planned from the applied revision), else resolved and cached.
   */
  groups(): ReadonlyMap<string, ReadonlySet<string>> | undefined {
    const { applied, fleet, planned } = this.memo;
    if (applied === undefined || fleet === undefined) return undefined;
    if (planned?.result.groups !== undefined && planned.inputs.snapshot === applied && planned.inputs.inventories === fleet.inventories) return planned.result.groups;
    if (this.groupCache?.snapshot !== applied || this.groupCache.fleet.inventories !== fleet.inventories) {
      this.groupCache = { snapshot: applied, fleet, groups: resolveGroupsIndexed(applied, fleet.inventories) };
    }
    return this.groupCache.groups;
  }

  /** Requests a pass; resolves once a pass that started after this call has finished. */
  trigger(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.queue.add(reason);
  }

  /** Runs a pass now and returns its record (tests and `ferry` tooling). */
  async reconcileNow(reason = 'manual'): Promise<ReconcileRun | undefined> {
    await this.trigger(reason);
    return this.lastRun;
  }

  /** The snapshot whose plans are in force (undefined before one validated). */
  appliedSnapshot(): Snapshot | undefined {
    return this.memo.applied;
  }

  status(): ReconcileStatus {
    const { applied, observedRevision } = this.memo;
    return {
      conditions: this.conditions,
      ...(applied ? { appliedRevision: applied.revision } : {}),
      ...(observedRevision ? { observedRevision } : {}),
      ...(this.lastRun ? { lastRun: this.lastRun } : {}),
      counters: this.counters,
    };
  }

  /** One pass: its steps in order; never throws, records its status in `finally`. */
  private async reconcile(triggers: readonly string[]): Promise<void> {
    const { clock, logger } = this.options;
    const now = new Date(clock.now());
    const t0 = performance.now();
    const before = this.memo;
    let memo = before;
    let outcome: ReconcileOutcome = 'failed';
    let error: string | undefined;
    let replanned = 0;
    let raised: readonly string[] = [];
    const steps: Record<string, number> = {};
    let stepStart = t0;
    const step = (name: string) => {
      const at = performance.now();
      steps[name] = Math.round((at - stepStart) * 10) / 10;
      stepStart = at;
    };
    this.conditions = setCondition(this.conditions, { type: 'Reconciling', status: 'True', reason: 'Progressing', message: `reconciling (${triggers.join(', ')})` }, now);
    if (triggers.some((t) => t.startsWith('content'))) this.content.markDirty();
    if (triggers.includes('content-retry')) this.content.retried();
    // Which hosts' facts, and which hosts' reported states, may have moved since the last pass (or all).
    const changes = fleetChanges(triggers);
    let statuses = statusChanges(triggers);
    try {
      // Pruned report history may have taken the state some actions were in: read every status again.
      if (await this.upkeep.pruneIfDue(now)) statuses = { kind: 'all' };
      memo = { ...memo, ...(await observeSource(memo, this.options, now)) };
      step('observe');
      const desired = memo.desired;
      if (!desired) {
        outcome = memo.rejectedRevision ? 'rejected' : 'waiting';
        this.memo = memo;
        return;
      }
      const fleet = await this.readFleet(memo, changes);
      memo = { ...memo, fleet };
      step('fleet');
      const planned = await this.plan(memo, desired, fleet, statuses, now);
      step('plan');
      // The statuses of the hosts the last pass raised plans for were read.
      memo = { ...memo, rolloutStale: emptySet };
      if (planned === undefined) {
        outcome = memo.rejectedRevision ? 'rejected' : 'skipped';
        this.memo = memo;
        return;
      }
      replanned = planned.pass.replanned;
      const entries = await this.diff(memo, planned.pass, desired.revision);
      step('diff');
      raised = await this.act(memo, desired, planned, entries, now);
      step('act');
      const rolloutHosts = this.rolloutHosts(memo, planned);
      // A raised plan of a rollout host has other actions: their statuses are read on the next pass.
      const stale = raised.filter((h) => rolloutHosts.has(h) || memo.rolloutHosts.has(h));
      memo = {
        ...memo,
        applied: desired,
        planned: { inputs: planned.inputs, result: planned.pass.result, key: planned.key },
        rolloutHosts,
        rolloutStale: stale.length === 0 ? emptySet : new Set(stale),
      };
      this.memo = memo;
      await this.upkeep.resignIfDue(planned.pass.result.plans.keys(), now);
      step('upkeep');
      outcome = memo.rejectedRevision ? 'rejected' : 'applied';
      this.failures = 0;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      this.failures += 1;
      const delay = backoffDelay(this.failures - 1, { baseMs: 1000, maxMs: this.options.maxRetryMs ?? 60_000, minMs: 50 });
      logger.error({ err, failures: this.failures, retryInMs: delay }, 'reconcile: pass failed');
      if (!this.stopped) this.queue.after(delay, 'retry');
    } finally {
      const m = this.memo;
      this.conditions = conditionsAfter(
        this.conditions,
        {
          outcome,
          ...(error !== undefined ? { error } : {}),
          ...(m.observedRevision ? { observedRevision: m.observedRevision } : {}),
          ...(m.applied ? { appliedRevision: m.applied.revision } : {}),
          ...(m.rejectedRevision ? { rejectedRevision: m.rejectedRevision } : {}),
        },
        new Date(clock.now()),
      );
      this.lastRun = this.recordRun(outcome, now, t0, triggers, replanned, raised, steps, error);
    }
  }

  /** Observe the fleet: the inventories and installed records, reading only what the triggers say changed. */
  private async readFleet(memo: ReconcileMemo<R>, changes: FleetChanges): Promise<FleetView> {
    const { view, changedInventories } = await refreshFleet(this.options.store, memo.fleet, changes);
    this.counters = { ...this.counters, inventoriesRead: this.counters.inventoriesRead + changedInventories };
    return view;
  }

  /** Plan: the inputs of this pass and the planner's result, or undefined when no input changed (skip). */
  private async plan(memo: ReconcileMemo<R>, desired: Snapshot, fleet: FleetView, statuses: FleetChanges, now: Date): Promise<Planned<R> | undefined> {
    const { planning } = this.options;
    const overrides = await this.overridesInForce(desired);
    const rolloutDeployments = new Set([...desired.deployments].filter(([, d]) => d.spec.rollout).map(([name]) => name));
    const rollout = await this.readRollout(memo, rolloutDeployments, statuses);
    const suspended = [...new Set(overrides.filter((o) => o.suspended).map((o) => o.deployment))].sort();
    const resumed = [...new Set(overrides.filter((o) => !o.suspended).map((o) => o.deployment))].sort();
    const unavailable = await this.content.unavailable(desired);
    const chunks = await this.content.chunks(desired);
    // The small inputs; inventories, installed records and the snapshot are compared by identity.
    const key = JSON.stringify({
      suspended,
      resumed,
      unavailable: [...unavailable],
      // An artifact's chunk hashes never change: which artifacts have them is the input.
      chunked: [...chunks.keys()].sort(),
      // Windows are expanded per day: a new day is a new input.
      day: now.toISOString().slice(0, 10),
    });
    const previous = memo.planned;
    const same = previous !== undefined && previous.key === key;
    if (
      same &&
      previous.inputs.rollout === rollout &&
      memo.applied === desired &&
      previous.inputs.snapshot === desired &&
      previous.inputs.inventories === fleet.inventories &&
      previous.inputs.installed === fleet.installed
    ) {
      return undefined;
    }
    // Unchanged small inputs keep their objects, so the planner sees them unchanged by identity.
    const inputs: PlanningInputs = {
      snapshot: desired,
      inventories: fleet.inventories,
      // The hosts whose inventory changed since the previous pass's, when the view says.
      ...(fleet.changed !== undefined && fleet.changed.from === previous?.inputs.inventories ? { changedHosts: fleet.changed.hosts } : {}),
      now,
      installed: fleet.installed,
      rollout,
      suspended: same ? previous.inputs.suspended : new Set(suspended),
      resumed: same && previous.inputs.resumed ? previous.inputs.resumed : new Set(resumed),
      unavailable: same && previous.inputs.unavailable ? previous.inputs.unavailable : unavailable,
      chunks: same && previous.inputs.chunks ? previous.inputs.chunks : chunks,
      ...(this.options.controllerSource ? { controllerSource: this.options.controllerSource } : {}),
    };
    const pass = await planning.plan(inputs, previous && { inputs: previous.inputs, result: previous.result });
    return { inputs, key, pass, overrides, rolloutDeployments };
  }

  /**
   * The operator overrides still in force. One whose deployment's `spec.suspended` changed in git
   * since it was set is superseded by that later intent, and removed.
   */
  private async overridesInForce(desired: Snapshot): Promise<readonly DeploymentOverride[]> {
    const { store, logger } = this.options;
    const all = await store.listOverrides();
    const kept: DeploymentOverride[] = [];
    for (const o of all) {
      const spec = desired.deployments.get(o.deployment)?.spec.suspended;
      if (overrideInForce(o, spec)) {
        kept.push(o);
        continue;
      }
      await store.clearOverride(o.deployment);
      logger.info({ deployment: o.deployment, override: o, spec }, `reconcile: spec.suspended changed in git to ${spec}; it supersedes the override by ${o.by}`);
    }
    return kept;
  }

  /** Diff: the plans whose content changed, among the hosts the planner computed again (hashing them in slices). */
  private async diff(memo: ReconcileMemo<R>, pass: PlanningPass<R>, revision: string): Promise<PlanEntry[]> {
    const before = memo.planned?.result;
    const { plans, hashes } = pass.result;
    const hosts = before === undefined || pass.replannedHosts === undefined ? plans.keys() : pass.replannedHosts;
    const entries: PlanEntry[] = [];
    const slicer = new Slicer();
    for (const host of hosts) {
      await slicer.maybeYield();
      const body = plans.get(host);
      if (body === undefined) continue;
      const hash = hashes.get(host)!;
      const previous = before?.plans.get(host);
      if (previous === body) continue;
      const previousHash = previous && before!.hashes.get(host);
      if (previousHash === hash) continue;
      // The plan saved last for this host: the store need not read back its action rows.
      entries.push({ host, hash, body, revision, ...(previous && previousHash !== undefined && { previous: { hash: previousHash, body: previous } }) });
    }
    return entries;
  }

  /** Act: saves and signs the changed plans, records the applied revision and self-suspensions. */
  private async act(memo: ReconcileMemo<R>, desired: Snapshot, planned: Planned<R>, entries: readonly PlanEntry[], now: Date): Promise<readonly string[]> {
    const { store, logger } = this.options;
    const sign = async (record: UnsignedPlanRecord) => {
      if (this.signer === undefined) return JSON.stringify(signPlan(record, now, this.key));
      const doc = planDocument(record, now);
      return doc.withSignature(await this.signer.sign(doc.parts));
    };
    const raised = entries.length === 0 ? [] : await store.savePlans(entries, now, { sign, documentHoldsBody: true });
    const hosts = raised.map((r) => r.host);
    for (const host of hosts) this.upkeep.signed(host, now.getTime());
    if (hosts.length > 0) this.options.onPlansRaised?.(hosts);
    if (memo.applied !== desired) {
      await store.recordDeploymentPolicies(
        [...desired.deployments].map(([deployment, d]) => ({ deployment, onLeave: d.spec.onLeave })),
        now,
      );
      await store.recordSourceAttempt({ revision: desired.revision, ok: true, at: now });
      logger.info({ revision: desired.revision, hosts: planned.pass.result.plans.size, raised: raised.length }, 'reconcile: revision applied');
    }
    await this.content.record(desired);
    await this.recordSelfSuspensions(planned.pass.result, planned.overrides, desired, now);
    if (raised.length > 0) logger.info({ hosts: raised.slice(0, 50).map((r) => `${r.host}#${r.serial}`), count: raised.length }, 'reconcile: plans changed');
    return hosts;
  }

  /**
   * Rollout progress: every rollout action's status read once (a first pass, another set of rollout
   * deployments, a pass of unknown cause: see `statusChanges`), then only those of the rollout hosts a
   * pass names (they reported, or their inventory moved) and of those whose plans the last pass raised. A deployment
   * whose hosts did not move keeps its progress object, and the whole map is the previous one when
   * none moved. Progress counts the actions of the current (stored) plans only: a report on an action
   * that has since left a host's plan, or came back to it, is history, not a failure of this rollout.
   */
  private async readRollout(memo: ReconcileMemo<R>, deployments: ReadonlySet<string>, changes: FleetChanges): Promise<ReadonlyMap<string, RolloutProgress>> {
    const { store } = this.options;
    /** The statuses of every rollout deployment's actions (on `hosts` only, when given), counted. */
    const read = async (hosts?: readonly string[]) => {
      const statuses = (await Promise.all([...deployments].map((deployment) => store.actionStatuses({ deployment, ...(hosts && { hosts }) })))).flat();
      this.counters = { ...this.counters, rolloutStatusesRead: this.counters.rolloutStatusesRead + statuses.length };
      return statuses;
    };
    const previous = memo.planned?.inputs.rollout;
    const incremental = changes.kind === 'hosts' && previous !== undefined && previous.size === deployments.size && [...deployments].every((d) => previous.has(d));
    if (!incremental) return keepUnchanged(previous, rolloutProgress(deployments, await read()));
    const hosts = new Set(memo.rolloutStale);
    for (const h of changes.hosts) if (memo.rolloutHosts.has(h)) hosts.add(h);
    if (hosts.size === 0) return previous;
    return updateRolloutProgress(previous, hosts, await read([...hosts]));
  }

  /** The hosts with an action of a rollout deployment: only the replanned ones can have changed. */
  private rolloutHosts(memo: ReconcileMemo<R>, planned: Planned<R>): ReadonlySet<string> {
    const { rolloutDeployments, pass } = planned;
    if (rolloutDeployments.size === 0) return new Set();
    const inRollout = (host: string) => pass.result.plans.get(host)?.actions.some((a) => rolloutDeployments.has(a.deployment)) ?? false;
    const previous = memo.planned?.inputs.snapshot === planned.inputs.snapshot ? memo.rolloutHosts : undefined;
    if (previous === undefined || pass.replannedHosts === undefined) return new Set([...pass.result.plans.keys()].filter(inRollout));
    // A copy only when a replanned host joined or left (inventory churn rarely moves one).
    let hosts: Set<string> | undefined;
    for (const h of pass.replannedHosts) {
      const inside = inRollout(h);
      if (inside === previous.has(h)) continue;
      hosts ??= new Set(previous);
      if (inside) hosts.add(h);
      else hosts.delete(h);
    }
    return hosts ?? previous;
  }

  /**
   * A deployment that suspended itself (a rollout exceeded maxFailures) is recorded as an
   * override by `ferry:rollout` with the reason, so the suspension outlives this process and the
   * rollout progress it was computed from; an operator's resume replaces it.
   */
  private async recordSelfSuspensions(result: R, overrides: readonly { readonly deployment: string }[], desired: Snapshot, now: Date): Promise<void> {
    const { store, logger } = this.options;
    const overridden = new Set(overrides.map((o) => o.deployment));
    for (const [name, outcome] of result.deployments ?? []) {
      if (outcome.suspended !== 'self' || overridden.has(name)) continue;
      const reason = outcome.selfSuspended ?? 'rollout maxFailures exceeded';
      await store.setSuspended(name, true, rolloutSuspender, now, reason, desired.deployments.get(name)?.spec.suspended);
      logger.warn({ deployment: name, reason }, 'reconcile: deployment suspended by its rollout (maxFailures); `ferry resume` continues it');
    }
  }

  private recordRun(
    outcome: ReconcileOutcome,
    startedAt: Date,
    t0: number,
    triggers: readonly string[],
    replanned: number,
    raised: readonly string[],
    stepsMs: Readonly<Record<string, number>>,
    error?: string,
  ): ReconcileRun {
    const durationMs = performance.now() - t0;
    this.options.metrics?.observe(outcome, durationMs / 1000);
    this.counters = { ...this.counters, passes: this.counters.passes + 1, hostsPlanned: this.counters.hostsPlanned + replanned };
    return {
      outcome,
      startedAt: startedAt.toISOString(),
      durationMs,
      triggers,
      replanned,
      raised,
      stepsMs,
      ...(error !== undefined ? { error } : {}),
    };
  }

  /** A pass shortly after each UTC midnight (windows are expanded per day) and an hourly re-sign check. */
  private armDaily(): void {
    if (this.stopped) return;
    const now = this.options.clock.now();
    const nextMidnight = Math.ceil((now + 1) / dayMs) * dayMs + 1000;
    const untilNextCheck = Math.min(nextMidnight - now, hourMs);
    const timer = setTimeout(() => {
      void this.trigger(this.options.clock.now() >= nextMidnight ? 'daily' : 'resign-check');
      this.armDaily();
    }, untilNextCheck);
    timer.unref();
    this.dailyTimer = timer;
  }
}
