/**
 * Writes action phases and their reports to the journal together (the report outbox), stamping
 * reports with strictly increasing times: the controller orders an action's reports by `at`.
 */
import type { ActionReport } from '../../core/plan/types.js';
import type { Journal, PhaseChange, ReportDraft } from '../journal/journal.js';

export class Reporter {
  private lastAt = 0;
  constructor(
    readonly journal: Journal,
    /** Called after a report was queued (the agent flushes soon after). */
    private readonly onQueued: () => void = () => undefined,
  ) {}

  transition(change: PhaseChange, report?: ReportDraft): ActionReport | undefined {
    const r = this.journal.transition(change, report && this.stamp(report));
    if (r) this.onQueued();
    return r;
  }

  markInstalled(
    change: Omit<PhaseChange, 'phase'>,
    what: { readonly package: string; readonly version: string; readonly deployment: string; readonly dir: string },
    report: ReportDraft,
  ): void {
    this.journal.markInstalled(change, what, this.stamp(report));
    this.onQueued();
  }

  markUninstalled(change: Omit<PhaseChange, 'phase'>, packageName: string, report?: ReportDraft): void {
    this.journal.markUninstalled(change, packageName, report && this.stamp(report));
    if (report) this.onQueued();
  }

  enqueue(report: ReportDraft): void {
    this.journal.enqueueReport(this.stamp(report));
    this.onQueued();
  }

  private stamp(report: ReportDraft): ReportDraft {
    let t = Date.now();
    if (t <= this.lastAt) t = this.lastAt + 1;
    this.lastAt = t;
    return { ...report, at: new Date(t).toISOString() };
  }
}
