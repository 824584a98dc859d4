/**
 * The reconciler's periodic chores, each at most once an hour: pruning report history past its
 * retention, and signing again (same serial, later expiry) the plans that come within a day of
 * expiry so an agent whose plan never changes does not freeze.
 */
import type { Logger } from 'pino';
import type { PlanSigner } from '../keys/index.js';
import type { Store } from '../store/store.js';
import { turn } from './slices.js';
import { planLifetimeMs, resignBeforeMs, signPlan, signedUntilDue } from './plan-document.js';

const hourMs = 60 * 60 * 1000;
/** Plans read per query by the first re-sign check. */
const readSlice = 2000;

export class Upkeep {
  private lastPrune = Number.NEGATIVE_INFINITY;
  private lastResignCheck = Number.NEGATIVE_INFINITY;
  /** When each host's current plan document was signed. */
  private readonly signedAt = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly signingKey: PlanSigner,
    private readonly logger: Logger,
    /** Report history older than this is deleted; absent: kept for ever. */
    private readonly reportRetentionMs: number | undefined,
    /** Hosts whose documents were re-signed (same serial): the poll cache drops them, as for a raise. */
    private readonly onResigned: (hosts: readonly string[]) => void = () => undefined,
  ) {}

  /** A plan document for `host` was signed at `at` (ms). */
  signed(host: string, at: number): void {
    this.signedAt.set(host, at);
  }

  /** Deletes report history older than the retention, at most once an hour; a failure is logged, not fatal. True when reports were deleted. */
  async pruneIfDue(now: Date): Promise<boolean> {
    const keep = this.reportRetentionMs;
    if (keep === undefined || now.getTime() - this.lastPrune < hourMs) return false;
    this.lastPrune = now.getTime();
    const before = new Date(now.getTime() - keep);
    try {
      const pruned = await this.store.pruneReports(before);
      if (pruned > 0) this.logger.info({ pruned, before: before.toISOString() }, 'reconcile: report history pruned');
      return pruned > 0;
    } catch (err) {
      this.logger.warn({ err }, 'reconcile: pruning report history failed; trying again in an hour');
      return false;
    }
  }

  /**
   * Re-signs the plans of `hosts` due for it, at most once an hour; the first check after start
   * reads every plan this process has not signed itself, a slice at a time with a turn of the
   * event loop between slices.
   */
  async resignIfDue(hosts: Iterable<string>, now: Date): Promise<void> {
    if (now.getTime() - this.lastResignCheck < hourMs) return;
    this.lastResignCheck = now.getTime();
    const unknown: string[] = [];
    for (const host of hosts) {
      const signedAt = this.signedAt.get(host);
      if (signedAt === undefined || now.getTime() - signedAt >= planLifetimeMs - resignBeforeMs) unknown.push(host);
    }
    const due: string[] = [];
    for (let i = 0; i < unknown.length; i += readSlice) {
      if (i > 0) await turn();
      const slice = unknown.slice(i, i + readSlice);
      const documents = new Map((await this.store.listSignedPlans(slice)).map((d) => [d.host, d.signed]));
      for (const host of slice) {
        const signedAt = signedUntilDue(documents.get(host), now, this.signingKey);
        if (signedAt === undefined) due.push(host);
        else this.signedAt.set(host, signedAt);
      }
    }
    const documents = [];
    for (const host of due) {
      const record = await this.store.getPlan(host);
      if (!record) continue;
      documents.push({ host, serial: record.serial, signed: JSON.stringify(signPlan(record, now, this.signingKey)), signedAt: now });
      this.signedAt.set(host, now.getTime());
    }
    if (documents.length > 0) {
      const stored = await this.store.putSignedPlans(documents);
      this.onResigned(documents.map((d) => d.host));
      this.logger.info({ resigned: stored }, 'reconcile: plans signed again before they expire');
    }
  }
}
