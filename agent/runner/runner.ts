/**
 * Applies a plan (DESIGN §2–§5): one pass over its actions in plan order, each action taken
 * as far as it can go now — wait for a window, re-check conditions, download (resumable,
 * verified), extract, install or uninstall — with every phase written to the journal (and its
 * report queued) before the side effect it announces. A pass never installs twice: "installed"
 * means the journal's installed record, not a report.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandSpec } from '../../core/manifest/types.js';
import type { Inventory, Plan, PlanAction } from '../../core/plan/types.js';
import { extractArchive } from '../archive/extract.js';
import { runCommand, type CommandResult } from '../executor/run-command.js';
import type { Journal, ReportDraft } from '../journal/journal.js';
import type { EventSink } from '../log/events.js';
import { download, type DownloadSource } from '../../lib/transfer/download.js';
import { checkContent, markVerified, verifiedThisBoot } from '../../lib/transfer/verified.js';
import { recheckConditions } from './conditions.js';
import type { Reporter } from './reporter.js';
import { closedReason, windowState } from './windows.js';

export interface RunnerDeps {
  readonly reporter: Reporter;
  readonly dataDir: string;
  readonly installRoot: string;
  /** `--server`: the controller source's URL when the plan gives none. */
  readonly server: string;
  /** The host's bearer credential, sent with content requests. */
  readonly credential: string;
  /** A fresh inventory (facts with overrides, software) for condition re-checks. */
  readonly inventory: () => Promise<Inventory>;
  readonly events: EventSink;
  /** The newest accepted plan: a suspension or a removal arriving mid-transfer stops it at the next segment boundary. */
  readonly latestPlan: () => Plan | undefined;
  /** True once the agent is asked to stop: no new action starts. */
  readonly stopping: () => boolean;
  /** Aborted on a fast stop: a transfer stops at once (its partial file kept). */
  readonly signal?: AbortSignal;
  /** After an install or uninstall (the OS package list may have changed). */
  readonly softwareChanged?: () => void;
  readonly now?: () => Date;
}

/** How one action stands after a pass. */
export type Outcome = 'done' | 'pending' | 'failed' | 'skipped';

export interface PassResult {
  readonly outcomes: ReadonlyMap<string, Outcome>;
  /** True when an action with `shutdownAfter` completed in this pass. */
  readonly shutdownDue: boolean;
}

/** Download failures are retried on the next pass; other failures wait for a new plan serial. */
const retryNextPass = 'download failed: ';

export class Runner {
  private readonly journal: Journal;
  private readonly now: () => Date;

  constructor(private readonly d: RunnerDeps) {
    this.journal = d.reporter.journal;
    this.now = d.now ?? (() => new Date());
  }

  /** One pass over the plan; never throws for an action's own failure. */
  async pass(plan: Plan): Promise<PassResult> {
    const outcomes = new Map<string, Outcome>();
    let shutdownDue = false;
    if (Date.parse(plan.expiresAt) <= this.now().getTime()) {
      this.d.events.emit({ event: 'plan-frozen', level: 'warn', serial: plan.serial, message: `plan ${plan.serial} expired at ${plan.expiresAt}; nothing new starts until a fresh plan arrives` });
      for (const a of plan.actions) outcomes.set(a.id, 'pending');
      return { outcomes, shutdownDue };
    }
    const byId = new Map(plan.actions.map((a) => [a.id, a] as const));
    for (const a of plan.actions) {
      if (this.d.stopping()) {
        outcomes.set(a.id, 'pending');
        continue;
      }
      let outcome: Outcome;
      try {
        outcome = await this.step(plan, a, byId);
      } catch (e) {
        // A bug or a broken disk: record it against the action and go on with the others.
        const reason = `agent error: ${(e as Error).message}`;
        this.d.events.emit({ event: 'action-error', level: 'error', action: a.id, message: reason });
        this.note(plan, a, 'failed', { reason });
        outcome = 'failed';
      }
      outcomes.set(a.id, outcome);
      const rec = this.journal.action(a.id);
      if (outcome === 'done' && a.shutdownAfter && rec?.serial === plan.serial && (rec.phase === 'installed' || rec.phase === 'uninstalled')) shutdownDue = true;
    }
    return { outcomes, shutdownDue };
  }

  /** True when the action's effect is in place. */
  isDone(a: PlanAction): boolean {
    if (a.op === 'install') return this.installedHere(a);
    return this.journal.action(a.id)?.phase === 'uninstalled' && !this.installedHere(a);
  }

  private installedHere(a: PlanAction): boolean {
    return this.journal.installed().some((r) => r.package === a.package && r.version === a.version);
  }

  private async step(plan: Plan, a: PlanAction, byId: ReadonlyMap<string, PlanAction>): Promise<Outcome> {
    const rec = this.journal.action(a.id);
    if (a.op === 'install' && this.installedHere(a)) {
      if (rec?.phase !== 'installed') this.note(plan, a, 'installed', { reason: `${a.package} ${a.version} is already installed by Ferry` });
      return 'done';
    }
    if (a.op === 'uninstall' && this.isDone(a)) return 'done';
    switch (a.status) {
      case 'not-applicable':
        this.note(plan, a, 'not-applicable', { reason: a.reason ?? 'not applicable' });
        return 'skipped';
      case 'blocked':
        this.note(plan, a, 'waiting', { reason: `blocked: ${a.reason ?? 'by the controller'}` });
        return 'skipped';
      case 'waiting':
        this.note(plan, a, 'waiting', { reason: a.reason ?? 'waiting' });
        return 'pending';
      default:
        break;
    }
    if (a.suspended) {
      this.note(plan, a, 'suspended', { reason: `deployment ${a.deployment} is suspended`, bytesDone: await this.partialBytes(a) });
      return 'pending';
    }
    for (const id of a.blockedBy) {
      const blocker = byId.get(id);
      if (blocker && !this.isDone(blocker)) {
        this.note(plan, a, 'waiting', { reason: `waiting for ${id}` });
        return 'pending';
      }
    }
    if (rec?.phase === 'failed' && rec.serial === plan.serial && !rec.reason?.startsWith(retryNextPass)) return 'failed';
    return a.op === 'install' ? this.install(plan, a) : this.uninstall(plan, a);
  }

  private async install(plan: Plan, a: PlanAction): Promise<Outcome> {
    const early = await recheckConditions(a.conditions, await this.d.inventory());
    if (!early.holds) {
      this.note(plan, a, 'not-applicable', { reason: early.reason });
      return 'skipped';
    }
    const tarball = await this.ensureContent(plan, a);
    if (typeof tarball !== 'string') return tarball.outcome;
    const dir = await this.ensureExtracted(plan, a, tarball);
    if (dir === undefined) return 'failed';
    const win = windowState(a.installWindows, this.now());
    if (!win.open) {
      this.note(plan, a, 'waiting', { reason: `downloaded; ${closedReason('install', win)}` });
      return 'pending';
    }
    if (this.d.stopping()) return 'pending';
    const env = this.env(dir);
    const late = await recheckConditions(a.conditions, await this.d.inventory(), (spec) => this.check(spec, dir));
    if (!late.holds) {
      this.note(plan, a, 'not-applicable', { reason: late.reason });
      return 'skipped';
    }
    if (!a.install) {
      this.note(plan, a, 'failed', { reason: `${a.package} ${a.version} has no install command` });
      return 'failed';
    }
    const base = { actionId: a.id, serial: plan.serial };
    const what = { package: a.package, version: a.version, deployment: a.deployment, dir };
    this.d.reporter.transition({ ...base, phase: 'installing', ...what }, { ...base, state: 'installing' });
    this.journal.countAttempt(a.id);
    this.d.events.emit({ event: 'install-started', action: a.id, message: `installing ${a.package} ${a.version}` });
    this.d.events.progress(a.id, `install ${a.package} ${a.version}`, 0, 0);
    const result = await runCommand(a.install, {
      cwd: dir,
      env,
      onSpawn: (pid) => this.journal.transition({ ...base, phase: 'installing', pid }),
    });
    this.d.events.endProgress(a.id);
    this.d.softwareChanged?.();
    if (result.exitCode === 0) {
      this.d.reporter.markInstalled(base, what, { ...base, state: 'installed', exitCode: 0, output: result.output });
      this.d.events.emit({ event: 'install-finished', action: a.id, ms: result.durationMs, message: `installed ${a.package} ${a.version}` });
      return 'done';
    }
    this.fail(plan, a, 'install', result);
    return 'failed';
  }

  private async uninstall(plan: Plan, a: PlanAction): Promise<Outcome> {
    const record = this.journal.installed().find((r) => r.package === a.package && r.version === a.version);
    let dir = record?.dir;
    if (dir !== undefined && !(await isDirectory(dir))) dir = undefined;
    if (dir !== undefined && !(await verifiedThisBoot(dir))) {
      // Unpacked before a restart of the machine: unpack again when the artifact is still here and
      // intact (a power cut may have emptied uninstall.sh); otherwise the folder is all there is.
      const tarball = this.contentPath(a);
      const cached = await checkContent(tarball, a.artifact.sha256, a.artifact.size);
      if (cached === 'trusted' || cached === 'reverified') dir = (await this.ensureExtracted(plan, a, tarball)) ?? dir;
    }
    if (!record && !a.detect) {
      this.note(plan, a, 'uninstalled', { reason: `${a.package} ${a.version} is not installed by Ferry on this host` });
      return 'done';
    }
    const notFound = `detect does not find ${a.package} ${a.version} on this host; nothing to uninstall`;
    const win = windowState(a.installWindows, this.now());
    if (!win.open) {
      // What detect last found stands until the window opens again and detect runs once more.
      const last = this.journal.action(a.id);
      if (!record && last?.phase === 'not-applicable' && last.reason === notFound) return 'skipped';
      this.note(plan, a, 'waiting', { reason: closedReason('install', win) });
      return 'pending';
    }
    if (dir === undefined) {
      const tarball = await this.ensureContent(plan, a, false);
      if (typeof tarball !== 'string') return tarball.outcome;
      dir = await this.ensureExtracted(plan, a, tarball);
      if (dir === undefined) return 'failed';
    }
    // Not installed by Ferry (the controller planned it because the host reports it, or left it
    // `unknown` for detect to decide): uninstall only what detect finds.
    if (!record && a.detect) {
      const r = await runCommand(a.detect, { cwd: dir, env: this.env(dir) });
      if (r.exitCode === null || r.exitCode === 126 || r.exitCode === 127 || r.timedOut) {
        this.fail(plan, a, 'detect', r); // detect itself is broken: it cannot tell
        return 'failed';
      }
      if (r.exitCode !== 0) {
        this.note(plan, a, 'not-applicable', { reason: notFound });
        return 'skipped';
      }
    }
    if (!a.uninstall) {
      this.note(plan, a, 'failed', { reason: `${a.package} ${a.version} has no uninstall command` });
      return 'failed';
    }
    if (this.d.stopping()) return 'pending';
    const base = { actionId: a.id, serial: plan.serial };
    this.journal.transition({ ...base, phase: 'uninstalling', package: a.package, version: a.version, deployment: a.deployment, dir });
    this.d.events.emit({ event: 'uninstall-started', action: a.id, message: `uninstalling ${a.package} ${a.version}` });
    const result = await runCommand(a.uninstall, {
      cwd: dir,
      env: this.env(dir),
      onSpawn: (pid) => this.journal.transition({ ...base, phase: 'uninstalling', pid }),
    });
    this.d.softwareChanged?.();
    if (result.exitCode === 0) {
      this.d.reporter.markUninstalled(base, a.package, { ...base, state: 'uninstalled', exitCode: 0, output: result.output });
      this.d.events.emit({ event: 'uninstall-finished', action: a.id, message: `uninstalled ${a.package} ${a.version}` });
      return 'done';
    }
    this.fail(plan, a, 'uninstall', result);
    return 'failed';
  }

  /** The verified artifact's path, or how the action stands when it is not there (yet). */
  private async ensureContent(plan: Plan, a: PlanAction, honourWindow = true): Promise<string | { outcome: Outcome }> {
    const sha = a.artifact.sha256.toLowerCase();
    const dest = this.contentPath(a);
    const cached = await checkContent(dest, sha, a.artifact.size);
    if (cached === 'trusted' || cached === 'reverified') return dest;
    if (cached === 'corrupt') {
      this.d.events.emit({ event: 'content-corrupt', level: 'warn', action: a.id, message: `${dest} failed its sha256 check after a restart; downloading it again` });
    }
    const open = () => (honourWindow ? windowState(a.distribute.windows, this.now(), a.distribute.notBefore) : ({ open: true } as const));
    const win = open();
    if (!win.open) {
      this.note(plan, a, 'waiting', { reason: closedReason('distribution', win), bytesDone: await this.partialBytes(a) });
      return { outcome: 'pending' };
    }
    const base = { actionId: a.id, serial: plan.serial };
    const before = await this.partialBytes(a);
    this.d.reporter.transition(
      { ...base, phase: 'downloading', deployment: a.deployment, package: a.package, version: a.version, bytesDone: before },
      { ...base, state: 'downloading', bytesDone: before, ...(before > 0 ? { reason: `resuming at byte ${before} of ${a.artifact.size}` } : {}) },
    );
    this.d.events.emit({ event: 'download-started', action: a.id, bytesDone: before, size: a.artifact.size, message: `downloading ${a.package} ${a.version}` });
    let lastSaved = Date.now();
    let lastReported = Date.now();
    const whyPause = (): string | undefined => {
      if (this.d.stopping()) return 'stopping';
      const latest = this.d.latestPlan()?.actions.find((x) => x.id === a.id);
      if (!latest) return 'the action left the plan';
      if (latest.suspended) return 'suspended';
      if (!open().open) return 'window';
      return undefined;
    };
    const result = await download({
      sources: this.sources(plan, sha),
      sha256: sha,
      size: a.artifact.size,
      dest,
      ...(a.distribute.segmentSize ? { segmentSize: a.distribute.segmentSize } : {}),
      ...(a.distribute.segmentPauseMs ? { segmentPauseMs: a.distribute.segmentPauseMs } : {}),
      shouldPause: () => whyPause() !== undefined,
      ...(this.d.signal ? { signal: this.d.signal } : {}),
      onProgress: (done, total) => {
        this.d.events.progress(a.id, `${a.package} ${a.version}`, done, total);
        const t = Date.now();
        if (t - lastSaved >= 1000) {
          lastSaved = t;
          this.journal.setProgress(a.id, done);
        }
        if (t - lastReported >= 10_000) {
          lastReported = t;
          this.d.reporter.transition({ ...base, phase: 'downloading', bytesDone: done }, { ...base, state: 'downloading', bytesDone: done });
        }
      },
    });
    this.d.events.endProgress(a.id);
    const problems = result.attempts.filter((x) => !x.retryable || /sha256/.test(x.error));
    for (const p of problems) this.d.events.emit({ event: 'source-failed', level: 'warn', action: a.id, source: p.source, message: p.error });
    if (result.ok) {
      await markVerified(dest);
      const note = problems.length > 0 ? `from ${result.source} after: ${problems.map((p) => `${p.source}: ${p.error}`).join('; ')}` : `from ${result.source}`;
      this.d.reporter.transition(
        { ...base, phase: 'downloaded', bytesDone: a.artifact.size },
        { ...base, state: 'downloaded', bytesDone: a.artifact.size, reason: `sha256 verified; ${note}`.slice(0, 4000) },
      );
      this.d.events.emit({ event: 'download-finished', action: a.id, bytesFetched: result.bytesFetched, source: result.source, message: `downloaded ${a.package} ${a.version}` });
      return dest;
    }
    this.journal.setProgress(a.id, result.bytesDone);
    if (result.reason === 'suspended' || result.reason === 'aborted') {
      const why = whyPause();
      this.d.events.emit({ event: 'download-paused', action: a.id, bytesDone: result.bytesDone, why: why ?? result.reason, message: `download of ${a.package} ${a.version} paused at byte ${result.bytesDone}` });
      if (why === 'suspended') this.note(plan, a, 'suspended', { reason: `deployment ${a.deployment} is suspended; paused at byte ${result.bytesDone} of ${a.artifact.size}`, bytesDone: result.bytesDone });
      else if (why === 'window') this.note(plan, a, 'waiting', { reason: `distribution window closed; paused at byte ${result.bytesDone} of ${a.artifact.size}`, bytesDone: result.bytesDone });
      return { outcome: 'pending' };
    }
    const reason = `${retryNextPass}${result.message}`;
    this.d.events.emit({ event: 'download-failed', level: 'error', action: a.id, message: reason });
    this.note(plan, a, 'failed', { reason: reason.slice(0, 4000), bytesDone: result.bytesDone });
    return { outcome: 'failed' };
  }

  /** Where the action's artifact is kept: `DATA/content/SHA256.tar.gz`. */
  private contentPath(a: PlanAction): string {
    return join(this.d.dataDir, 'content', `${a.artifact.sha256.toLowerCase()}.tar.gz`);
  }

  /**
   * The artifact unpacked into `DATA/packages/NAME/VERSION-SHA8`: once per boot, since a folder
   * unpacked before a power cut may have lost its files' contents (verified.ts).
   */
  private async ensureExtracted(plan: Plan, a: PlanAction, tarball: string): Promise<string | undefined> {
    const dir = join(this.d.dataDir, 'packages', a.package, `${a.version}-${a.artifact.sha256.slice(0, 8)}`);
    if ((await isDirectory(dir)) && (await verifiedThisBoot(dir))) return dir;
    const r = await extractArchive(tarball, dir);
    if (r.ok) {
      await markVerified(dir);
      return dir;
    }
    this.d.events.emit({ event: 'extract-failed', level: 'error', action: a.id, message: r.reason });
    this.note(plan, a, 'failed', { reason: r.reason });
    return undefined;
  }

  private sources(plan: Plan, sha: string): DownloadSource[] {
    const headers = { authorization: `Bearer ${this.d.credential}` };
    const list = plan.sources.length > 0 ? plan.sources : [{ kind: 'controller' as const, name: 'controller' }];
    return list.map((s) => {
      const base = (s.url ?? this.d.server).replace(/\/+$/, '');
      return { name: s.name, url: `${base}/v1/content/${sha}`, headers };
    });
  }

  private env(dir: string) {
    return { FERRY_PACKAGE_DIR: dir, FERRY_INSTALL_ROOT: this.d.installRoot };
  }

  private async check(spec: CommandSpec, dir: string): Promise<string | undefined> {
    const r = await runCommand(spec, { cwd: dir, env: this.env(dir) });
    if (r.exitCode === 0) return undefined;
    return r.reason ?? `exited with code ${r.exitCode}`;
  }

  private fail(plan: Plan, a: PlanAction, what: string, r: CommandResult): void {
    const reason = `${what} ${r.reason ?? 'failed'}`;
    this.note(plan, a, 'failed', { reason, output: r.output, ...(r.exitCode !== null ? { exitCode: r.exitCode } : {}) }, true);
    this.d.events.emit({ event: `${what}-failed`, level: 'error', action: a.id, exitCode: r.exitCode, message: `${a.package} ${a.version}: ${reason}` });
  }

  private async partialBytes(a: PlanAction): Promise<number> {
    const s = await stat(`${this.contentPath(a)}.part`).catch(() => undefined);
    return s?.size ?? 0;
  }

  /** Records a state and queues its report, unless the journal already says exactly that. */
  private note(
    plan: Plan,
    a: PlanAction,
    state: ReportDraft['state'],
    extra: { reason?: string; bytesDone?: number; exitCode?: number; output?: string },
    always = false,
  ): void {
    const rec = this.journal.action(a.id);
    if (!always && rec && rec.phase === state && rec.reason === extra.reason) return;
    const base = { actionId: a.id, serial: plan.serial };
    this.d.reporter.transition(
      {
        ...base,
        phase: state,
        deployment: a.deployment,
        package: a.package,
        version: a.version,
        ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
        ...(extra.bytesDone !== undefined ? { bytesDone: extra.bytesDone } : {}),
      },
      { ...base, state, ...extra },
    );
    this.d.events.emit({ event: 'action-state', action: a.id, state, ...(extra.reason ? { reason: extra.reason } : {}), level: state === 'failed' ? 'error' : 'info' });
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}
