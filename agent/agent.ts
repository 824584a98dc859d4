/**
 * The agent (DESIGN §2–§6): enroll once, report inventory when it changes, poll the plan,
 * apply it, deliver every report. `runOnce()` is one full cycle (cron, tests); `run()` keeps
 * going until its signal aborts, then stops at a safe point and flushes its reports.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { resolve } from 'node:path';
import { Backoff } from '../lib/backoff.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Plan } from '../core/plan/types.js';
import { ApiFailure, ControllerClient } from './client/controller-client.js';
import { checkInstall, keyFingerprint, type TrustedPublisher } from '../core/signing/index.js';
import { saveCredential, type Credential } from './enroll/credential.js';
import { loadPinnedPublishers } from './trust/pinned-publishers.js';
import { EnrollError, ensureEnrolled } from './enroll/enroll.js';
import { collectFacts } from './inventory/facts.js';
import { buildInventory, inventoryHash } from './inventory/inventory.js';
import { OsPackageCache } from './inventory/os-packages.js';
import { applyFactOverrides, type FactOverride } from './inventory/overrides.js';
import { Journal } from './journal/journal.js';
import { recoverInterrupted } from './journal/recovery.js';
import { lockDataDir } from './lock.js';
import type { EventSink } from './log/events.js';
import { checkPlan } from './poller/plan-check.js';
import { jitteredInterval } from './poller/timing.js';
import { ArchiveUnpacker } from './runner/archive-unpacker.js';
import { CommandInstaller } from './runner/command-installer.js';
import { ContentDownloader } from './runner/content-downloader.js';
import { MulticastDownloader, type MulticastOptions } from './runner/multicast-downloader.js';
import { detectDrift } from './runner/drift.js';
import { Executor, type PassResult } from './runner/executor.js';
import { Reporter } from './runner/reporter.js';

export interface AgentOptions {
  readonly server: string;
  readonly dataDir: string;
  /** `FERRY_INSTALL_ROOT` of installs (default `/`). */
  readonly installRoot: string;
  /** `--name`; default: this machine's host name. */
  readonly name?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly facts: readonly FactOverride[];
  readonly enrollToken?: string;
  readonly controllerKeyFile?: string;
  /** `--trust-publisher`: public key files pinned into DATA's trust file (agent/trust/). */
  readonly trustPublisherFiles?: readonly string[];
  readonly intervalMs: number;
  /** argv run once nothing is pending after a `shutdownAfter` action completed. */
  readonly shutdownCommand: readonly string[];
  /** Report the OS package list (dpkg/rpm). */
  readonly osPackages: boolean;
  readonly events: EventSink;
  readonly random?: () => number;
  /** The one source of time (default: the system clock). */
  readonly clock?: Clock;
  /** `--multicast-interface` and the receiver's settings (docs/multicast.md). */
  readonly multicast?: MulticastOptions;
}

/** `0` all it could do succeeded, `1` an action failed or the plan was rejected, `3` the controller could not be reached. */
export type CycleExit = 0 | 1 | 3;

/** The pseudo action id under which plan rejections are reported. */
export const planActionId = 'plan';

/** The pseudo action id under which `shutdownAfter` shutdowns are reported (host history: "shut down after install"). */
export const shutdownActionId = 'shutdown';

export class Agent {
  private credential!: Credential;
  private client: ControllerClient;
  private readonly reporter: Reporter;
  private readonly clock: Clock;
  private readonly installer: CommandInstaller;
  private readonly osPackages: OsPackageCache | undefined;
  private plan: Plan | undefined;
  private stopping = false;
  private readonly abort = new AbortController();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<boolean> | undefined;
  private passRunning = false;
  private rerun = false;
  private planRejected = false;

  private constructor(
    private readonly o: AgentOptions,
    readonly journal: Journal,
    private readonly unlock: () => Promise<void>,
    /** Publisher keys pinned on this host; empty: no publisher check. */
    private readonly pinned: readonly TrustedPublisher[],
  ) {
    this.client = new ControllerClient({ server: o.server });
    this.clock = o.clock ?? systemClock;
    this.reporter = new Reporter(journal, () => this.flushSoon(), this.clock);
    this.installer = new CommandInstaller(o.installRoot);
    this.osPackages = o.osPackages ? new OsPackageCache(undefined, undefined, this.clock) : undefined;
    this.plan = journal.lastPlan()?.plan;
  }

  /** Opens DATA (locked to this process) and its journal. */
  static async open(options: AgentOptions): Promise<Agent> {
    const dataDir = resolve(options.dataDir);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await mkdir(resolve(options.installRoot), { recursive: true });
    const unlock = await lockDataDir(dataDir);
    try {
      const pinned = await loadPinnedPublishers(dataDir, options.trustPublisherFiles);
      const journal = Journal.open(dataDir, options.clock ? { clock: options.clock } : {});
      return new Agent({ ...options, dataDir, installRoot: resolve(options.installRoot) }, journal, unlock, pinned);
    } catch (e) {
      await unlock();
      throw e;
    }
  }

  get host(): string {
    return this.credential.host;
  }

  /** The one retry backoff (lib/backoff.ts) with this agent's random source. */
  private backoff(baseMs: number, maxMs: number): Backoff {
    return new Backoff({ baseMs, maxMs, minMs: 100, ...(this.o.random ? { random: this.o.random } : {}) });
  }

  /** Asks the agent to stop at the next safe point: no new action, transfers pause. */
  stop(): void {
    this.stopping = true;
    this.abort.abort(new Error('agent stopping'));
  }

  async close(): Promise<void> {
    clearTimeout(this.flushTimer);
    await this.flushing;
    this.journal.close();
    await this.unlock();
    this.o.events.close();
  }

  /** One full cycle: enroll if needed, recover, inventory, poll, apply what can run now, flush. */
  async runOnce(): Promise<CycleExit> {
    await this.enroll();
    await this.recover();
    const backoff = this.backoff(500, 4000);
    let reached = false;
    for (let attempt = 0; attempt < 3 && !reached; attempt++) {
      try {
        await this.observe();
        reached = true;
      } catch (e) {
        if (!(e instanceof ApiFailure)) throw e;
        this.o.events.emit({ event: 'controller-unreachable', level: 'error', message: e.message });
        if (!e.retryable) break;
        if (attempt < 2) await this.clock.sleep(backoff.next(e.retryAfterMs));
      }
    }
    if (!reached) return 3;
    const result = this.plan ? await this.pass(this.plan) : undefined;
    await this.sendInventory().catch(() => undefined);
    const flushed = await this.flush();
    if (result) await this.maybeShutdown(result);
    if (!flushed) return 3;
    const failed = result ? [...result.outcomes.values()].includes('failed') : false;
    return failed || this.planRejected ? 1 : 0;
  }

  /** Runs until `signal` aborts; resolves once stopped at a safe point with the reports flushed. */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.stop(), { once: true });
    const backoff = this.backoff(1000, Math.max(5000, Math.min(300_000, this.o.intervalMs * 5)));
    for (;;) {
      try {
        await this.enroll();
        break;
      } catch (e) {
        if (!(e instanceof EnrollError) || e.problem !== 'unreachable' || this.stopping) throw e;
        this.o.events.emit({ event: 'controller-unreachable', level: 'warn', message: e.message });
        await this.clock.sleep(backoff.next(), this.abort.signal).catch(() => undefined);
      }
    }
    backoff.reset();
    await this.recover();
    let passing: Promise<void> | undefined;
    while (!this.stopping) {
      let delay = jitteredInterval(this.o.intervalMs, this.o.random);
      try {
        const changed = await this.observe();
        backoff.reset();
        if (changed) this.rerun = true;
      } catch (e) {
        if (!(e instanceof ApiFailure)) throw e;
        this.o.events.emit({ event: 'controller-unreachable', level: 'warn', message: e.message });
        if (e.retryable) delay = backoff.next(e.retryAfterMs);
      }
      if (!passing && this.plan) {
        passing = this.passLoop().finally(() => (passing = undefined));
      }
      await this.flush();
      await this.clock.sleep(delay, this.abort.signal).catch(() => undefined);
    }
    await passing;
    await this.flush();
  }

  private async passLoop(): Promise<void> {
    do {
      this.rerun = false;
      const plan = this.plan;
      if (!plan) return;
      const result = await this.pass(plan);
      await this.sendInventory().catch(() => undefined);
      await this.flush();
      await this.maybeShutdown(result);
    } while (this.rerun && !this.stopping);
  }

  /** Multicast first where the plan announces a session, the ordinary download otherwise and as the fallback. */
  private downloader(): MulticastDownloader {
    const where = { dataDir: this.o.dataDir, server: this.client.server, credential: this.credential.credential };
    const unicast = new ContentDownloader(where);
    return new MulticastDownloader({ ...this.o.multicast, ...where, unicast, events: this.o.events, clock: this.clock });
  }

  private async pass(plan: Plan): Promise<PassResult> {
    this.passRunning = true;
    try {
      const executor = new Executor({
        reporter: this.reporter,
        downloader: this.downloader(),
        unpacker: new ArchiveUnpacker(this.o.dataDir),
        installer: this.installer,
        clock: this.clock,
        inventory: () => this.inventory(),
        events: this.o.events,
        latestPlan: () => this.plan,
        stopping: () => this.stopping,
        signal: this.abort.signal,
        softwareChanged: () => this.osPackages?.invalidate(),
        publisher: (a) => checkInstall(a, this.pinned, new Date(this.clock.now()).toISOString()),
      });
      const result = await executor.pass(plan);
      const count = (o: string) => [...result.outcomes.values()].filter((x) => x === o).length;
      this.o.events.emit({
        event: 'pass-finished',
        level: 'debug',
        serial: plan.serial,
        done: count('done'),
        pending: count('pending'),
        failed: count('failed'),
        skipped: count('skipped'),
      });
      return result;
    } finally {
      this.passRunning = false;
    }
  }

  private async enroll(): Promise<void> {
    if (this.credential) return;
    const host = this.o.name ?? hostName();
    const facts = applyFactOverrides(await collectFacts({ hostname: host, dataDir: this.o.dataDir, installRoot: this.o.installRoot }), this.o.facts);
    const { credential, enrolledNow } = await ensureEnrolled({
      dataDir: this.o.dataDir,
      client: this.client,
      host,
      hostGiven: this.o.name !== undefined,
      ...(this.o.enrollToken ? { token: this.o.enrollToken } : {}),
      facts,
      labels: this.o.labels,
      ...(this.o.controllerKeyFile ? { controllerKeyFile: this.o.controllerKeyFile } : {}),
    });
    this.credential = credential;
    this.client.authenticate(credential.credential);
    if (enrolledNow) this.o.events.emit({ event: 'enrolled', host: credential.host, message: `enrolled as ${credential.host}` });
  }

  /** Resolves installs and uninstalls a crash interrupted (never rerun blindly). */
  private async recover(): Promise<void> {
    const decisions = await recoverInterrupted(this.reporter, {
      detectFor: (rec) => this.plan?.actions.find((a) => a.id === rec.actionId)?.detect,
      detect: async (spec, rec) => (await this.installer.run(spec, { dir: rec.dir ?? this.o.dataDir })).kind === 'succeeded',
      clock: this.clock,
    });
    for (const [action, decision] of decisions) {
      this.o.events.emit({ event: 'recovered', level: 'warn', action, decision, message: `after a crash: ${action} → ${decision}` });
    }
  }

  /** Drift check, inventory if changed, plan poll; true when a new plan was accepted. Throws ApiFailure. */
  private async observe(): Promise<boolean> {
    if (!this.passRunning) await detectDrift(this.reporter, this.installer, this.plan, this.o.dataDir, this.o.events);
    await this.sendInventory();
    return this.poll();
  }

  private inventory() {
    return buildInventory({
      host: this.host,
      dataDir: this.o.dataDir,
      installRoot: this.o.installRoot,
      labels: this.o.labels,
      overrides: this.o.facts,
      ...(this.osPackages ? { osPackages: this.osPackages } : {}),
      journal: this.journal,
      pollIntervalMs: this.o.intervalMs,
    });
  }

  private async sendInventory(): Promise<void> {
    const inv = await this.inventory();
    const hash = inventoryHash(inv);
    if (this.journal.get('inventory-hash') === hash) return;
    await this.client.putInventory(inv);
    this.journal.set('inventory-hash', hash);
    this.o.events.emit({ event: 'inventory-sent', level: 'debug', hash, software: inv.software.length });
  }

  private async poll(): Promise<boolean> {
    const lastSerial = this.journal.lastPlan()?.serial;
    const etag = this.journal.get('plan-etag');
    const check = await checkPlan(this.client, {
      host: this.host,
      publicKey: this.credential.controllerKey,
      ...(lastSerial !== undefined ? { lastSerial } : {}),
      now: new Date(this.clock.now()),
      ...(etag !== undefined ? { etag } : {}),
    });
    switch (check.kind) {
      case 'unchanged':
        return false;
      case 'none':
        this.o.events.emit({ event: 'no-plan-yet', level: 'debug', message: check.message });
        return false;
      case 'rejected': {
        this.planRejected = true;
        if (check.etag) this.journal.set('plan-etag', check.etag);
        const reason = `plan${check.serial !== undefined ? ` serial ${check.serial}` : ''} rejected: ${check.reason}; the last good plan${lastSerial !== undefined ? ` (serial ${lastSerial})` : ''} stays in force`;
        this.o.events.emit({ event: 'plan-rejected', level: 'error', serial: check.serial, message: reason });
        if (this.journal.get('plan-rejection') !== reason) {
          this.journal.set('plan-rejection', reason);
          this.reporter.enqueue({ actionId: planActionId, serial: check.serial ?? lastSerial ?? 0, state: 'failed', reason });
        }
        return false;
      }
      case 'accepted': {
        const saved = this.journal.savePlan(check.plan);
        if (!saved.saved) return false;
        if (check.adoptKey !== undefined) await this.adoptControllerKey(check.adoptKey);
        if (check.etag) this.journal.set('plan-etag', check.etag);
        if (this.journal.get('plan-rejection') !== undefined) {
          this.journal.delete('plan-rejection');
          this.reporter.enqueue({ actionId: planActionId, serial: check.plan.serial, state: 'installed', reason: `plan serial ${check.plan.serial} accepted` });
        }
        const changed = this.plan?.serial !== check.plan.serial || this.plan.expiresAt !== check.plan.expiresAt;
        this.plan = check.plan;
        if (changed) this.o.events.emit({ event: 'plan-accepted', serial: check.plan.serial, revision: check.plan.revision, actions: check.plan.actions.length });
        return changed;
      }
    }
  }

  /** The controller is rotating its key and the pinned key vouched for the next one: pin it, drop the old. */
  private async adoptControllerKey(publicKey: string): Promise<void> {
    const before = keyFingerprint(this.credential.controllerKey);
    this.credential = { ...this.credential, controllerKey: publicKey };
    await saveCredential(this.o.dataDir, this.credential);
    this.o.events.emit({
      event: 'controller-key-rotated',
      from: before,
      to: keyFingerprint(publicKey),
      message: `controller key ${before} vouched for ${keyFingerprint(publicKey)}: now pinned`,
    });
  }

  /** Delivers queued reports, oldest first; false when the controller could not take them. */
  private flush(): Promise<boolean> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.credential) return Promise.resolve(false);
    const run = async (): Promise<boolean> => {
      for (;;) {
        const batch = this.journal.pendingReports(500);
        if (batch.length === 0) return true;
        try {
          await this.client.postReports(this.host, batch);
        } catch (e) {
          this.o.events.emit({ event: 'reports-not-delivered', level: 'warn', pending: batch.length, message: (e as Error).message });
          return false;
        }
        this.journal.ackReports(batch.map((r) => r.id));
      }
    };
    const previous = this.flushing ?? Promise.resolve(true);
    const next = previous.then(run, run);
    this.flushing = next.finally(() => {
      if (this.flushing === tracked) this.flushing = undefined;
    });
    const tracked = this.flushing;
    return next;
  }

  private flushSoon(): void {
    if (this.flushTimer || !this.credential) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, 250);
  }

  /** `shutdownAfter`: once per plan serial, when nothing else is pending, run the shutdown command. */
  private async maybeShutdown(result: PassResult): Promise<void> {
    const plan = this.plan;
    if (!plan) return;
    if (result.shutdownDue) this.journal.set('shutdown-due', String(plan.serial));
    const due = this.journal.get('shutdown-due');
    if (due === undefined || this.journal.get('shutdown-done') === due) return;
    if ([...result.outcomes.values()].includes('pending') || this.stopping) return;
    this.journal.set('shutdown-done', due);
    // Reported before the command runs: once it does, the host may not get to report anything.
    const command = this.o.shutdownCommand.join(' ');
    this.reporter.enqueue({ actionId: shutdownActionId, serial: Number(due), state: 'installed', reason: `shut down after install (plan serial ${due}): ${command}` });
    await this.flush();
    const [program, ...args] = this.o.shutdownCommand;
    this.o.events.emit({ event: 'shutdown', serial: due, command: this.o.shutdownCommand, message: 'nothing else pending after a shutdownAfter action: shutting down' });
    const r = await this.installer.run({ command: [program ?? 'true', ...args], timeoutMs: 60_000, env: {} }, { dir: this.o.dataDir });
    if (r.kind !== 'succeeded') {
      this.o.events.emit({ event: 'shutdown-failed', level: 'error', message: `${command}: ${r.reason ?? r.exitCode} ${r.output}` });
      this.reporter.enqueue({
        actionId: shutdownActionId,
        serial: Number(due),
        state: 'failed',
        reason: `shutdown after install failed: ${command}: ${r.reason ?? `exit ${r.exitCode}`}`,
        ...(typeof r.exitCode === 'number' ? { exitCode: r.exitCode } : {}),
        output: r.output.slice(-4096),
      });
      await this.flush();
    }
  }
}

/** This machine's name as a Ferry host name (lower case, DNS label characters). */
export function hostName(): string {
  const n = os
    .hostname()
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return (n || 'host').slice(0, 63).replace(/[-.]+$/, '');
}
