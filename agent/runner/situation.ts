/** Everything `decide` looks at for one action: the plan's word, the journal's, what is on this host, and the time. */
import type { CommandSpec } from '../../core/manifest/types.js';
import type { Inventory, PlanAction } from '../../core/plan/types.js';
import type { ActionRecord } from '../journal/types.js';
import type { ContentState, DownloadOutcome } from './downloader.js';
import type { CommandOutcome } from './installer.js';
import type { PauseWhy } from './pause.js';
import type { FolderState, UnpackOutcome } from './unpacker.js';

/** The step just carried out and how it ended (steps whose result needs deciding about). */
export type LastStep =
  | { readonly step: 'download'; readonly outcome: DownloadOutcome /** Paused: what asked for it (none: aborted). */; readonly why?: PauseWhy }
  | { readonly step: 'unpack'; readonly outcome: UnpackOutcome }
  | { readonly step: 'check'; readonly condition: string; readonly spec: CommandSpec; readonly outcome: CommandOutcome }
  | { readonly step: 'detect'; readonly outcome: CommandOutcome }
  | { readonly step: 'install'; readonly dir: string; readonly outcome: CommandOutcome }
  | { readonly step: 'uninstall'; readonly outcome: CommandOutcome };

export interface Situation {
  readonly action: PlanAction;
  /** The plan's serial and expiry. */
  readonly serial: number;
  readonly expiresAt: string;
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** The agent is asked to stop: nothing new starts. */
  readonly stopping: boolean;
  /** The journal's record of this action. */
  readonly record?: Pick<ActionRecord, 'phase' | 'serial' | 'reason' | 'retry'>;
  /** Ferry's own install of this package version (the journal's installed record). */
  readonly installed?: { readonly dir: string };
  /** The plan's actions this one waits for (`blockedBy`), in order, and whether each is done. */
  readonly blockers: readonly { readonly id: string; readonly done: boolean }[];
  /** What is on this host; absent until an `observe` step looked (most actions are settled from the journal alone). */
  readonly local?: Local;
  /** Conditions whose check program held in this pass. */
  readonly checksHeld: readonly string[];
  /** detect found the package in this pass. */
  readonly detected: boolean;
  readonly last?: LastStep;
  /** Distribution and install windows do not apply (`ferry bundle apply`: the operator applying the bundle is the window). */
  readonly ignoreWindows?: boolean;
}

/** What an `observe` step finds on this host. */
export interface Local {
  /** The kept artifact, and the bytes of an unfinished download of it. */
  readonly content: ContentState;
  readonly partialBytes: number;
  /** The package folder, when unpacked in this boot. */
  readonly unpacked?: string;
  /** How the folder of Ferry's own install stands (with `installed`). */
  readonly installedFolder?: FolderState;
  /** A fresh inventory, for the condition re-checks. */
  readonly inventory: Inventory;
}
