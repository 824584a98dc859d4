/**
 * The agent's crash-safe local journal (DESIGN §6), `DATA/journal.db`: SQLite in WAL mode with
 * `synchronous=FULL`, so a committed call survives kill -9 and power loss. Every method is one
 * transaction. It holds action phases, the report outbox, what Ferry installed, the last good
 * plan, and small settings. Agent-local state only; the controller has its own store.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../lib/clock.js';
import { crashPoint } from '../../lib/crash-point.js';
import type { ActionReport, Plan, SoftwareItem } from '../../core/plan/types.js';
import { migrate } from './schema.js';
import type { ActionRecord, InstalledRecord, JournalPhase, PhaseChange, ReportDraft, Retry } from './types.js';

export type { ActionRecord, InstalledRecord, JournalPhase, PhaseChange, ReportDraft, Retry } from './types.js';

export interface JournalOptions {
  /** Time for `updatedAt`, `installedAt` and report `at` (default: the system clock). */
  readonly clock?: Clock;
}

interface ActionRow {
  action_id: string;
  serial: number;
  phase: string;
  deployment: string | null;
  package: string | null;
  version: string | null;
  bytes_done: number;
  dir: string | null;
  attempts: number;
  reason: string | null;
  retry: string | null;
  pid: number | null;
  updated_at: string;
}

export class Journal {
  private constructor(
    private readonly db: Database.Database,
    private readonly clock: Clock,
  ) {}

  /** Opens (creating and migrating) `dataDir/journal.db`. */
  static open(dataDir: string, options: JournalOptions = {}): Journal {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const db = new Database(join(dataDir, 'journal.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return new Journal(db, options.clock ?? systemClock);
  }

  /** Closes the database; the journal is unusable afterwards. */
  close(): void {
    this.db.close();
  }

  /** One action's record, if the journal has seen it. */
  action(actionId: string): ActionRecord | undefined {
    const row = this.db.prepare('SELECT * FROM actions WHERE action_id = ?').get(actionId) as ActionRow | undefined;
    return row && toRecord(row);
  }

  /** All actions, or those in the given phases, by id. */
  actions(...phases: JournalPhase[]): ActionRecord[] {
    const rows = (
      phases.length === 0
        ? this.db.prepare('SELECT * FROM actions ORDER BY action_id').all()
        : this.db.prepare(`SELECT * FROM actions WHERE phase IN (${phases.map(() => '?').join(',')}) ORDER BY action_id`).all(...phases)
    ) as ActionRow[];
    return rows.map(toRecord);
  }

  /** Records a phase change and, in the same transaction, queues its report (returned with its id). */
  transition(change: PhaseChange, report?: ReportDraft): ActionReport | undefined {
    return this.db.transaction(() => {
      this.upsert(change);
      return report ? this.queue(report) : undefined;
    })();
  }

  /** Notes bytes downloaded so far (no report). */
  setProgress(actionId: string, bytesDone: number): void {
    this.db.prepare('UPDATE actions SET bytes_done = ?, updated_at = ? WHERE action_id = ?').run(bytesDone, this.stamp(), actionId);
  }

  /** Counts one more attempt at an action; returns the new count. */
  countAttempt(actionId: string): number {
    const row = this.db.prepare('UPDATE actions SET attempts = attempts + 1, updated_at = ? WHERE action_id = ? RETURNING attempts').get(this.stamp(), actionId) as
      | { attempts: number }
      | undefined;
    if (!row) throw new Error(`journal: unknown action ${actionId}`);
    return row.attempts;
  }

  /** Records a finished install: phase `installed`, the installed package, and the report, together. */
  markInstalled(
    change: Omit<PhaseChange, 'phase'>,
    what: { readonly package: string; readonly version: string; readonly deployment: string; readonly dir: string },
    report?: ReportDraft,
  ): ActionReport | undefined {
    return this.db.transaction(() => {
      this.upsert({ ...change, phase: 'installed', package: what.package, version: what.version, deployment: what.deployment, dir: what.dir });
      this.db
        .prepare(
          `INSERT INTO installed (package, version, deployment, dir, installed_at, action_id) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (package) DO UPDATE SET version = excluded.version, deployment = excluded.deployment,
             dir = excluded.dir, installed_at = excluded.installed_at, action_id = excluded.action_id`,
        )
        .run(what.package, what.version, what.deployment, what.dir, this.stamp(), change.actionId);
      return report ? this.queue(report) : undefined;
    })();
  }

  /** Records a finished uninstall: phase `uninstalled`, the package forgotten, and the report, together. */
  markUninstalled(change: Omit<PhaseChange, 'phase'>, packageName: string, report?: ReportDraft): ActionReport | undefined {
    return this.db.transaction(() => {
      this.upsert({ ...change, phase: 'uninstalled' });
      this.db.prepare('DELETE FROM installed WHERE package = ?').run(packageName);
      return report ? this.queue(report) : undefined;
    })();
  }

  /** Queues a report for delivery; its id is fixed now, so a resend is recognisable. */
  enqueueReport(report: ReportDraft): ActionReport {
    return this.queue(report);
  }

  /** Reports not yet acknowledged by the controller, oldest first. */
  pendingReports(limit = 500): ActionReport[] {
    const rows = this.db.prepare('SELECT body FROM outbox ORDER BY seq LIMIT ?').all(limit) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as ActionReport);
  }

  /** Drops delivered reports; returns how many were removed (unknown ids are ignored). */
  ackReports(ids: readonly string[]): number {
    return this.db.transaction(() => {
      const del = this.db.prepare('DELETE FROM outbox WHERE id = ?');
      let removed = 0;
      for (const id of ids) removed += del.run(id).changes;
      return removed;
    })();
  }

  /** What Ferry installed here, by package name. */
  installed(): InstalledRecord[] {
    const rows = this.db.prepare('SELECT * FROM installed ORDER BY package').all() as {
      package: string;
      version: string;
      deployment: string;
      dir: string;
      installed_at: string;
      action_id: string;
    }[];
    return rows.map((r) => ({
      package: r.package,
      version: r.version,
      deployment: r.deployment,
      dir: r.dir,
      installedAt: r.installed_at,
      actionId: r.action_id,
    }));
  }

  /** The inventory `software` entries for what Ferry installed (`source: 'ferry'`). */
  software(): SoftwareItem[] {
    return this.installed().map((r) => ({ name: r.package, version: r.version, source: 'ferry' }));
  }

  /** The last plan applied (already verified by the caller), if any. */
  lastPlan(): { readonly serial: number; readonly plan: Plan; readonly appliedAt: string } | undefined {
    const row = this.db.prepare('SELECT serial, body, applied_at FROM plan WHERE id = 1').get() as { serial: number; body: string; applied_at: string } | undefined;
    return row && { serial: row.serial, plan: JSON.parse(row.body) as Plan, appliedAt: row.applied_at };
  }

  /** The serial of the last applied plan; 0 before the first. */
  lastSerial(): number {
    return this.lastPlan()?.serial ?? 0;
  }

  /** Stores `plan` as the last good one unless its serial is lower than the stored one (rollback). */
  savePlan(plan: Plan): { readonly saved: true } | { readonly saved: false; readonly reason: string } {
    return this.db.transaction(() => {
      const current = this.db.prepare('SELECT serial FROM plan WHERE id = 1').get() as { serial: number } | undefined;
      if (current && plan.serial < current.serial) {
        return { saved: false as const, reason: `plan serial ${plan.serial} is lower than the applied ${current.serial}` };
      }
      this.db
        .prepare(
          `INSERT INTO plan (id, serial, body, applied_at) VALUES (1, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET serial = excluded.serial, body = excluded.body, applied_at = excluded.applied_at`,
        )
        .run(plan.serial, JSON.stringify(plan), this.stamp());
      return { saved: true as const };
    })();
  }

  /** A stored setting (credential location, enrolled host name, …). */
  get(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  set(key: string, value: string): void {
    this.db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  delete(key: string): void {
    this.db.prepare('DELETE FROM kv WHERE key = ?').run(key);
  }

  private upsert(c: PhaseChange): void {
    this.db
      .prepare(
        `INSERT INTO actions (action_id, serial, phase, deployment, package, version, bytes_done, dir, attempts, reason, retry, pid, updated_at)
         VALUES (@actionId, @serial, @phase, @deployment, @package, @version, COALESCE(@bytesDone, 0), @dir, 0, @reason, @retry, @pid, @now)
         ON CONFLICT (action_id) DO UPDATE SET
           serial = excluded.serial, phase = excluded.phase,
           deployment = COALESCE(excluded.deployment, deployment),
           package = COALESCE(excluded.package, package),
           version = COALESCE(excluded.version, version),
           bytes_done = COALESCE(@bytesDone, bytes_done),
           dir = COALESCE(excluded.dir, dir),
           reason = excluded.reason, retry = excluded.retry, pid = excluded.pid, updated_at = excluded.updated_at`,
      )
      .run({
        actionId: c.actionId,
        serial: c.serial,
        phase: c.phase,
        deployment: c.deployment ?? null,
        package: c.package ?? null,
        version: c.version ?? null,
        bytesDone: c.bytesDone ?? null,
        dir: c.dir ?? null,
        reason: c.reason ?? null,
        retry: c.retry ?? null,
        pid: c.pid ?? null,
        now: this.stamp(),
      });
  }

  private queue(draft: ReportDraft): ActionReport {
    const report: ActionReport = { ...draft, id: randomUUID(), at: draft.at ?? this.stamp() };
    this.db.prepare('INSERT INTO outbox (id, body) VALUES (?, ?)').run(report.id, JSON.stringify(report));
    crashPoint('agent.journal.uncommitted');
    return report;
  }

  private stamp(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function toRecord(r: ActionRow): ActionRecord {
  return {
    actionId: r.action_id,
    serial: r.serial,
    phase: r.phase as JournalPhase,
    ...(r.deployment !== null ? { deployment: r.deployment } : {}),
    ...(r.package !== null ? { package: r.package } : {}),
    ...(r.version !== null ? { version: r.version } : {}),
    bytesDone: r.bytes_done,
    ...(r.dir !== null ? { dir: r.dir } : {}),
    attempts: r.attempts,
    ...(r.reason !== null ? { reason: r.reason } : {}),
    ...(r.retry !== null ? { retry: r.retry as Retry } : {}),
    ...(r.pid !== null ? { pid: r.pid } : {}),
    updatedAt: r.updated_at,
  };
}
