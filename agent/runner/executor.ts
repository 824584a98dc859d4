/**
 * Carries a plan out (DESIGN §2–§6): for each action in plan order, observe → `decide` → carry
 * the step out through the injected seams → observe again, until the decision ends the action
 * for this pass. All choosing is in decide.ts; all writing goes through the Reporter (journal
 * and report together), each phase recorded before the side effect it announces. A pass never
 * installs twice: "installed" means the journal's installed record, not a report.
 *
 * The agent, `ferry bundle apply` and a relay run plans through this one executor.
 */
import type { Clock } from '../../lib/clock.js';
import { crashPoint } from '../../lib/crash-point.js';
import type { Inventory, Plan, PlanAction } from '../../core/plan/types.js';
import type { PublisherVerdict } from '../../core/signing/index.js';
import type { EventSink } from '../log/events.js';
import { decide } from './decide.js';
import type { Downloader } from './downloader.js';
import type { CommandOutcome, Installer } from './installer.js';
import { pauseWhy } from './pause.js';
import type { Reporter } from './reporter.js';
import type { LastStep, Local, Situation } from './situation.js';
import { outcomeOf, type Note, type Outcome, type Step } from './step.js';
import type { Unpacker } from './unpacker.js';

export type { Outcome } from './step.js';

export interface ExecutorDeps {
  readonly reporter: Reporter;
  readonly downloader: Downloader;
  readonly unpacker: Unpacker;
  readonly installer: Installer;
  readonly clock: Clock;
  /** A fresh inventory (facts with overrides, software) for condition re-checks. */
  readonly inventory: () => Promise<Inventory>;
  readonly events: EventSink;
  /** The newest accepted plan: a suspension or a removal arriving mid-transfer stops it at the next segment boundary. */
  readonly latestPlan: () => Plan | undefined;
  /** True once the agent is asked to stop: no new step starts. */
  readonly stopping: () => boolean;
  /** Aborted on a fast stop: a transfer stops at once (its partial file kept). */
  readonly signal?: AbortSignal;
  /** After an install or uninstall (the OS package list may have changed). */
  readonly softwareChanged?: () => void;
  /** Distribution and install windows do not apply (`ferry bundle apply`: the operator is the window). */
  readonly ignoreWindows?: boolean;
  /** The publisher check of an install (core/signing checkInstall with the host's pinned keys); not asked for what is already installed. */
  readonly publisher?: (a: PlanAction) => PublisherVerdict;
}

export interface PassResult {
  readonly outcomes: ReadonlyMap<string, Outcome>;
  /** True when an action with `shutdownAfter` completed in this pass. */
  readonly shutdownDue: boolean;
}

/** Steps one action may take in one pass; more is a bug in decide (a loop), reported as an agent error. */
const maxSteps = 32;

/** What one pass has learnt so far, beyond what the journal and the disk say. */
interface PassMemory {
  /** The inventory, until a step changes disk or software. */
  inventory?: Inventory;
  frozenTold: boolean;
}

/** What one action's steps learnt in this pass. */
interface ActionMemory {
  /** An `observe` step asked to look at the disk and inventory: from then on every situation includes them. */
  observed: boolean;
  contentVerified: boolean;
  unpacked?: string;
  readonly checksHeld: string[];
  detected: boolean;
}

export class Executor {
  /** Action id → the publisher key whose signature the check accepted, for the installed report's custody. */
  private readonly publisherKeys = new Map<string, string>();

  constructor(private readonly d: ExecutorDeps) {}

  /** One pass over the plan; never throws for an action's own failure. */
  async pass(plan: Plan): Promise<PassResult> {
    const outcomes = new Map<string, Outcome>();
    const memory: PassMemory = { frozenTold: false };
    const byId = new Map(plan.actions.map((a) => [a.id, a] as const));
    let shutdownDue = false;
    for (const a of plan.actions) {
      let outcome: Outcome;
      try {
        outcome = await this.act(plan, a, byId, memory);
      } catch (e) {
        // A bug or a broken disk: record it against the action and go on with the others.
        const reason = `agent error: ${(e as Error).message}`;
        this.d.events.emit({ event: 'action-error', level: 'error', action: a.id, message: reason });
        this.record(plan, a, { state: 'failed', reason, retry: 'new-serial' });
        outcome = 'failed';
      }
      outcomes.set(a.id, outcome);
      const rec = this.d.reporter.journal.action(a.id);
      if (outcome === 'done' && a.shutdownAfter && rec?.serial === plan.serial && (rec.phase === 'installed' || rec.phase === 'uninstalled')) shutdownDue = true;
    }
    return { outcomes, shutdownDue };
  }

  /** Decides and carries out steps for one action until one ends it for this pass. */
  private async act(plan: Plan, a: PlanAction, byId: ReadonlyMap<string, PlanAction>, pass: PassMemory): Promise<Outcome> {
    const mayInstall = a.op === 'install' && a.status !== 'blocked' && a.status !== 'not-applicable' && !this.installedRecord(a);
    const verdict = mayInstall ? this.d.publisher?.(a) : undefined;
    if (verdict?.ok === false) return this.refuse(plan, a, verdict.reason);
    if (verdict?.ok && verdict.required) this.publisherKeys.set(a.id, verdict.key);
    const memory: ActionMemory = { observed: false, contentVerified: false, checksHeld: [], detected: false };
    let last: LastStep | undefined;
    for (let n = 0; n < maxSteps; n++) {
      const step = decide(await this.observe(plan, a, byId, pass, memory, last));
      last = undefined;
      const outcome = outcomeOf(step);
      if (outcome) {
        this.end(plan, a, step, pass);
        return outcome;
      }
      last = await this.carry(plan, a, step, pass, memory);
    }
    throw new Error(`no decision for ${a.id} after ${maxSteps} steps`);
  }

  /** An install refused before any step: failed with the reason, recorded once per plan serial. */
  private refuse(plan: Plan, a: PlanAction, reason: string): Outcome {
    const rec = this.d.reporter.journal.action(a.id);
    if (rec?.serial === plan.serial && rec.phase === 'failed' && rec.reason === reason) return 'failed';
    this.record(plan, a, { state: 'failed', reason, retry: 'new-serial' });
    return 'failed';
  }

  /** The situation of one action now: journal and time; once an `observe` step asked, disk and inventory too. */
  private async observe(plan: Plan, a: PlanAction, byId: ReadonlyMap<string, PlanAction>, pass: PassMemory, memory: ActionMemory, last: LastStep | undefined): Promise<Situation> {
    const record = this.d.reporter.journal.action(a.id);
    const ours = this.installedRecord(a);
    return {
      action: a,
      serial: plan.serial,
      expiresAt: plan.expiresAt,
      now: this.d.clock.now(),
      stopping: this.d.stopping(),
      ...(record ? { record } : {}),
      ...(ours ? { installed: { dir: ours.dir } } : {}),
      blockers: a.blockedBy.flatMap((id) => {
        const blocker = byId.get(id);
        return blocker ? [{ id, done: this.isDone(blocker) }] : [];
      }),
      ...(memory.observed ? { local: await this.local(a, ours?.dir, pass, memory) } : {}),
      checksHeld: memory.checksHeld,
      detected: memory.detected,
      ...(last ? { last } : {}),
      ...(this.d.ignoreWindows ? { ignoreWindows: true } : {}),
    };
  }

  /** What this host has for the action: kept content, unpacked folders, the pass's inventory (what a step of this pass established is not looked up again). */
  private async local(a: PlanAction, installedDir: string | undefined, pass: PassMemory, memory: ActionMemory): Promise<Local> {
    const kept = memory.contentVerified ? { content: 'verified' as const, partialBytes: 0 } : await this.d.downloader.kept(a.artifact);
    const unpacked = memory.unpacked ?? (await this.d.unpacker.unpacked(a));
    pass.inventory ??= await this.d.inventory();
    return {
      ...kept,
      ...(unpacked !== undefined ? { unpacked } : {}),
      ...(installedDir !== undefined && a.op === 'uninstall' ? { installedFolder: await this.d.unpacker.folder(installedDir) } : {}),
      inventory: pass.inventory,
    };
  }

  /** Carries out a step that does not end the action; returns its outcome when decide needs it. */
  private async carry(plan: Plan, a: PlanAction, step: Step, pass: PassMemory, memory: ActionMemory): Promise<LastStep | undefined> {
    const events = this.d.events;
    switch (step.kind) {
      case 'observe':
        memory.observed = true;
        return undefined;
      case 'report':
        this.record(plan, a, step.note, true);
        return undefined;
      case 'verify': {
        const r = await this.d.downloader.verify(a.artifact);
        if (r === 'verified') memory.contentVerified = true;
        if (r === 'corrupt')
          events.emit({
            event: 'content-corrupt',
            level: 'warn',
            action: a.id,
            message: `the kept artifact of ${a.package} ${a.version} failed its sha256 check after a restart; downloading it again`,
          });
        return undefined;
      }
      case 'download': {
        pass.inventory = undefined;
        const last = await this.download(plan, a, step.note, step.honourWindow);
        if (last.step === 'download' && last.outcome.kind === 'verified') memory.contentVerified = true;
        return last;
      }
      case 'unpack': {
        pass.inventory = undefined;
        const outcome = await this.d.unpacker.unpack(a);
        crashPoint('agent.unpack.done');
        if (outcome.ok) memory.unpacked = outcome.dir;
        else events.emit({ event: 'extract-failed', level: 'error', action: a.id, message: outcome.reason });
        return { step: 'unpack', outcome };
      }
      case 'check': {
        const outcome = await this.d.installer.run(step.spec, { dir: step.dir });
        if (outcome.kind === 'succeeded') memory.checksHeld.push(step.condition);
        return { step: 'check', condition: step.condition, spec: step.spec, outcome };
      }
      case 'detect': {
        const outcome = await this.d.installer.run(step.spec, { dir: step.dir });
        if (outcome.kind === 'succeeded') memory.detected = true;
        else if (outcome.kind !== 'failed') this.commandFailed('detect', a, outcome);
        return { step: 'detect', outcome };
      }
      case 'install': {
        this.record(plan, a, step.note, true);
        this.d.reporter.attempt(a.id);
        events.emit({ event: 'install-started', action: a.id, message: `installing ${a.package} ${a.version}` });
        events.progress(a.id, `install ${a.package} ${a.version}`, 0, 0);
        crashPoint('agent.install.before-exec');
        const outcome = await this.d.installer.run(step.spec, { dir: step.dir, onSpawn: (pid) => this.d.reporter.running(plan.serial, a.id, 'installing', pid) });
        events.endProgress(a.id);
        this.softwareChanged(pass);
        crashPoint('agent.install.after-exec');
        if (outcome.kind === 'succeeded') events.emit({ event: 'install-finished', action: a.id, ms: outcome.durationMs, message: `installed ${a.package} ${a.version}` });
        else this.commandFailed('install', a, outcome);
        return { step: 'install', dir: step.dir, outcome };
      }
      case 'uninstall': {
        this.record(plan, a, step.note, true);
        events.emit({ event: 'uninstall-started', action: a.id, message: `uninstalling ${a.package} ${a.version}` });
        crashPoint('agent.uninstall.before-exec');
        const outcome = await this.d.installer.run(step.spec, { dir: step.dir, onSpawn: (pid) => this.d.reporter.running(plan.serial, a.id, 'uninstalling', pid) });
        crashPoint('agent.uninstall.after-exec');
        this.softwareChanged(pass);
        if (outcome.kind === 'succeeded') events.emit({ event: 'uninstall-finished', action: a.id, message: `uninstalled ${a.package} ${a.version}` });
        else this.commandFailed('uninstall', a, outcome);
        return { step: 'uninstall', outcome };
      }
      default:
        throw new Error(`step ${step.kind} ends an action; it is not carried out`);
    }
  }

  /** Fetches the artifact: `downloading` recorded first, progress saved every second and reported every 10 s. */
  private async download(plan: Plan, a: PlanAction, note: Note, honourWindow: boolean): Promise<LastStep> {
    const { events, clock, reporter } = this.d;
    this.record(plan, a, note, true);
    crashPoint('agent.download.started');
    events.emit({ event: 'download-started', action: a.id, bytesDone: note.bytesDone ?? 0, size: a.artifact.size, message: `downloading ${a.package} ${a.version}` });
    const why = () =>
      pauseWhy(
        this.d.latestPlan()?.actions.find((x) => x.id === a.id),
        this.d.stopping(),
        clock.now(),
        honourWindow,
      );
    let lastSaved = clock.now();
    let lastReported = lastSaved;
    const outcome = await this.d.downloader.download({
      artifact: a.artifact,
      sources: plan.sources,
      ...(a.distribute.segmentSize ? { segmentSize: a.distribute.segmentSize } : {}),
      ...(a.distribute.segmentPauseMs ? { segmentPauseMs: a.distribute.segmentPauseMs } : {}),
      ...(a.distribute.multicast ? { multicast: true } : {}),
      shouldPause: () => why() !== undefined,
      ...(this.d.signal ? { signal: this.d.signal } : {}),
      onProgress: (done, total) => {
        crashPoint('agent.download.progress');
        events.progress(a.id, `${a.package} ${a.version}`, done, total);
        const t = clock.now();
        if (t - lastSaved >= 1000) {
          lastSaved = t;
          reporter.progress(a.id, done);
        }
        if (t - lastReported >= 10_000) {
          lastReported = t;
          this.record(plan, a, { state: 'downloading', bytesDone: done }, true);
        }
      },
    });
    events.endProgress(a.id);
    for (const p of outcome.problems) events.emit({ event: 'source-failed', level: 'warn', action: a.id, source: p.source, problem: p.kind, message: p.message });
    if (outcome.kind === 'verified') {
      crashPoint('agent.download.fetched');
      events.emit({ event: 'download-finished', action: a.id, bytesFetched: outcome.bytesFetched, source: outcome.source, message: `downloaded ${a.package} ${a.version}` });
      return { step: 'download', outcome };
    }
    reporter.progress(a.id, outcome.bytesDone);
    if (outcome.kind === 'paused') {
      const stoppedBy = why();
      events.emit({
        event: 'download-paused',
        action: a.id,
        bytesDone: outcome.bytesDone,
        why: stoppedBy ?? 'aborted',
        message: `download of ${a.package} ${a.version} paused at byte ${outcome.bytesDone}`,
      });
      return { step: 'download', outcome, ...(stoppedBy ? { why: stoppedBy } : {}) };
    }
    events.emit({ event: 'download-failed', level: 'error', action: a.id, message: `download failed: ${outcome.message}` });
    return { step: 'download', outcome };
  }

  /** A step that ends the action: its note recorded, the freeze told once per pass. */
  private end(plan: Plan, a: PlanAction, step: Step, pass: PassMemory): void {
    if (step.kind === 'wait' && step.why === 'plan-expired' && !pass.frozenTold) {
      pass.frozenTold = true;
      this.d.events.emit({ event: 'plan-frozen', level: 'warn', serial: plan.serial, message: step.reason });
    }
    if ((step.kind === 'wait' || step.kind === 'skip' || step.kind === 'done' || step.kind === 'failed') && step.note) {
      this.record(plan, a, step.note, step.note.effect !== undefined);
    }
  }

  /** The one place a step's state is written; `quiet`: no `action-state` event (the step told its own). */
  private record(plan: Plan, a: PlanAction, note: Note, quiet = false): void {
    if (note.effect?.kind === 'installed') {
      const publisher = this.publisherKeys.get(a.id);
      note = { ...note, custody: { revision: plan.revision, sha256: a.artifact.sha256, ...(publisher !== undefined ? { publisher } : {}) } };
    }
    this.d.reporter.note(plan.serial, a, note);
    if (!quiet) {
      this.d.events.emit({
        event: 'action-state',
        action: a.id,
        state: note.state,
        ...(note.reason ? { reason: note.reason } : {}),
        level: note.state === 'failed' ? 'error' : 'info',
      });
    }
  }

  private commandFailed(what: 'install' | 'uninstall' | 'detect', a: PlanAction, o: CommandOutcome): void {
    this.d.events.emit({
      event: `${what}-failed`,
      level: 'error',
      action: a.id,
      exitCode: o.exitCode ?? null,
      message: `${a.package} ${a.version}: ${what} ${o.reason ?? 'failed'}`,
    });
  }

  private softwareChanged(pass: PassMemory): void {
    pass.inventory = undefined;
    this.d.softwareChanged?.();
  }

  private installedRecord(a: PlanAction) {
    return this.d.reporter.journal.installed().find((r) => r.package === a.package && r.version === a.version);
  }

  /** True when the action's effect is in place. */
  private isDone(a: PlanAction): boolean {
    if (a.op === 'install') return this.installedRecord(a) !== undefined;
    return this.d.reporter.journal.action(a.id)?.phase === 'uninstalled' && !this.installedRecord(a);
  }
}
