/**
 * The one path by which the agent writes action state: each phase goes to the journal together
 * with its report (the outbox), in one transaction, and reports are stamped with strictly
 * increasing times (the controller orders an action's reports by `at`).
 */
import { systemClock, type Clock } from '../../lib/clock.js';
import { crashPoint } from '../../lib/crash-point.js';
import type { ActionReport, ActionState } from '../../core/plan/types.js';
import type { Journal, PhaseChange, ReportDraft } from '../journal/journal.js';
import type { Note } from './step.js';

/** The action a note is about. */
export interface NoteSubject {
  readonly id: string;
  readonly deployment: string;
  readonly package: string;
  readonly version: string;
}

export class Reporter {
  private lastAt = 0;
  constructor(
    readonly journal: Journal,
    /** Called after a report was queued (the agent flushes soon after). */
    private readonly onQueued: () => void = () => undefined,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Records `note` for `a` under plan `serial`, and queues its report (`uninstalling` is the journal's own). */
  note(serial: number, a: NoteSubject, n: Note): void {
    const base = { actionId: a.id, serial };
    const report: ReportDraft | undefined =
      n.state === 'uninstalling'
        ? undefined
        : {
            ...base,
            state: n.state as ActionState,
            ...(n.reason !== undefined ? { reason: n.reason } : {}),
            ...(n.bytesDone !== undefined ? { bytesDone: n.bytesDone } : {}),
            ...(n.exitCode !== undefined ? { exitCode: n.exitCode } : {}),
            ...(n.output !== undefined ? { output: n.output } : {}),
            ...(n.custody !== undefined ? { custody: n.custody } : {}),
          };
    if (n.effect?.kind === 'installed') {
      this.markInstalled(base, { package: a.package, version: a.version, deployment: a.deployment, dir: n.effect.dir }, report!);
      return;
    }
    if (n.effect?.kind === 'uninstalled') {
      this.markUninstalled(base, a.package, report);
      return;
    }
    this.transition(
      {
        ...base,
        phase: n.state,
        deployment: a.deployment,
        package: a.package,
        version: a.version,
        ...(n.reason !== undefined ? { reason: n.reason } : {}),
        ...(n.bytesDone !== undefined ? { bytesDone: n.bytesDone } : {}),
        ...(n.dir !== undefined ? { dir: n.dir } : {}),
        ...(n.retry !== undefined ? { retry: n.retry } : {}),
      },
      report,
    );
  }

  /** Bytes downloaded so far (no report). */
  progress(actionId: string, bytesDone: number): void {
    this.journal.setProgress(actionId, bytesDone);
  }

  /** The process group of the install or uninstall just started (recovery waits for it after a crash). */
  running(serial: number, actionId: string, phase: 'installing' | 'uninstalling', pid: number): void {
    this.journal.transition({ actionId, serial, phase, pid });
  }

  /** Counts one more attempt at an action. */
  attempt(actionId: string): number {
    return this.journal.countAttempt(actionId);
  }

  transition(change: PhaseChange, report?: ReportDraft): ActionReport | undefined {
    const r = this.journal.transition(change, report && this.stamp(report));
    crashPoint('agent.journal.committed');
    if (r) this.onQueued();
    return r;
  }

  markInstalled(
    change: Omit<PhaseChange, 'phase'>,
    what: { readonly package: string; readonly version: string; readonly deployment: string; readonly dir: string },
    report?: ReportDraft,
  ): void {
    this.journal.markInstalled(change, what, report && this.stamp(report));
    crashPoint('agent.journal.committed');
    if (report) this.onQueued();
  }

  markUninstalled(change: Omit<PhaseChange, 'phase'>, packageName: string, report?: ReportDraft): void {
    this.journal.markUninstalled(change, packageName, report && this.stamp(report));
    crashPoint('agent.journal.committed');
    if (report) this.onQueued();
  }

  enqueue(report: ReportDraft): void {
    this.journal.enqueueReport(this.stamp(report));
    crashPoint('agent.journal.committed');
    this.onQueued();
  }

  private stamp(report: ReportDraft): ReportDraft {
    let t = this.clock.now();
    if (t <= this.lastAt) t = this.lastAt + 1;
    this.lastAt = t;
    return { ...report, at: new Date(t).toISOString() };
  }
}
