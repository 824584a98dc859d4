import type { ActionReport, ActionState } from '../../core/plan/types.js';

/** Where an action stands on this host; `uninstalling` is the journal's own in-between state. */
export type JournalPhase = ActionState | 'uninstalling';

/** When a failed action is tried again: on the next pass (a download), or only under a new plan serial. */
export type Retry = 'next-pass' | 'new-serial';

/** Which plan action (of which plan serial, deployment and package) is in which phase. */
export interface ActionPhase {
  readonly actionId: string;
  readonly serial: number;
  readonly phase: JournalPhase;
  readonly deployment?: string;
  readonly package?: string;
  readonly version?: string;
}

/** What the journal knows about one plan action. */
export interface ActionRecord extends ActionPhase {
  readonly bytesDone: number;
  /** The extracted package folder, once there is one. */
  readonly dir?: string;
  readonly attempts: number;
  readonly reason?: string;
  /** With `failed`: when it is tried again (absent: under a new serial). */
  readonly retry?: Retry;
  /** Process group of the running install/uninstall, while `installing`/`uninstalling`. */
  readonly pid?: number;
  readonly updatedAt: string;
}

/** A change of phase; absent fields keep their stored value. */
export interface PhaseChange extends ActionPhase {
  readonly bytesDone?: number;
  readonly dir?: string;
  /** Replaces the stored reason (none: cleared). */
  readonly reason?: string;
  /** Replaces the stored retry (none: cleared). */
  readonly retry?: Retry;
  /** Replaces the stored pid (none: cleared). */
  readonly pid?: number;
}

/** A report to queue: the journal adds a unique `id` and, if absent, `at`. */
export type ReportDraft = Omit<ActionReport, 'id' | 'at'> & { readonly at?: string };

/** A package Ferry installed on this host. */
export interface InstalledRecord {
  readonly package: string;
  readonly version: string;
  readonly deployment: string;
  readonly dir: string;
  readonly installedAt: string;
  readonly actionId: string;
}
