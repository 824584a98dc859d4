/**
 * What `decide` says an action should do next (DESIGN §2): one typed step with its reason. The
 * executor carries a step out and comes back with its outcome; `wait`, `skip`, `done` and
 * `failed` end the action for this pass, every other step is followed by another decision.
 */
import type { CommandSpec } from '../../core/manifest/types.js';
import type { Custody } from '../../core/plan/types.js';
import type { JournalPhase, Retry } from '../journal/types.js';

/** A state to record: the journal's phase and, for a reported state, the report queued with it. */
export interface Note {
  readonly state: JournalPhase;
  readonly reason?: string;
  readonly bytesDone?: number;
  readonly exitCode?: number;
  /** The last 4 KiB of a program's output. */
  readonly output?: string;
  /** The package folder a program runs in (journal only: recovery looks there after a crash). */
  readonly dir?: string;
  /** With `failed`: when the action is tried again. */
  readonly retry?: Retry;
  /** With `installed`: what was verified before the install (the executor adds it). */
  readonly custody?: Custody;
  /** `installed`: Ferry now has the package installed from `dir`; `uninstalled`: Ferry forgets it. */
  readonly effect?: { readonly kind: 'installed'; readonly dir: string } | { readonly kind: 'uninstalled' };
}

/** Why an action waits (it is `pending` until a later pass). */
export type WaitWhy =
  | 'plan-expired'
  | 'stopping'
  | 'controller-waiting'
  | 'suspended'
  | 'blocked-by'
  | 'distribution-window'
  | 'install-window'
  | 'download-paused'
  | 'interrupted';

/** Why an action is left alone (`skipped`): it does not apply here, or the controller holds it back. */
export type SkipWhy = 'not-applicable' | 'blocked';

export type Step =
  /** Nothing more now; `until`: when a window opens (RFC 3339), if known. */
  | { readonly kind: 'wait'; readonly why: WaitWhy; readonly reason: string; readonly until?: string; readonly note?: Note }
  | { readonly kind: 'skip'; readonly why: SkipWhy; readonly reason: string; readonly note?: Note }
  /** Look at what this host has for the action: kept content, unpacked folders, a fresh inventory. */
  | { readonly kind: 'observe' }
  /** Hash the kept artifact again (it was verified in an earlier boot, or never). */
  | { readonly kind: 'verify' }
  /** Fetch the artifact; `note` (downloading) is recorded first. `honourWindow`: pause when the distribution window closes. */
  | { readonly kind: 'download'; readonly honourWindow: boolean; readonly note: Note }
  /** Unpack the verified artifact into the package folder. */
  | { readonly kind: 'unpack' }
  /** Run a condition's check program in `dir` (exit 0: it holds). */
  | { readonly kind: 'check'; readonly condition: string; readonly spec: CommandSpec; readonly dir: string }
  /** Run the package's detect program in `dir` (exit 0: the package is there). */
  | { readonly kind: 'detect'; readonly spec: CommandSpec; readonly dir: string }
  /** Run the installer in `dir`; `note` (installing) is recorded first. */
  | { readonly kind: 'install'; readonly spec: CommandSpec; readonly dir: string; readonly note: Note }
  /** Run the uninstaller in `dir`; `note` (uninstalling, journal only) is recorded first. */
  | { readonly kind: 'uninstall'; readonly spec: CommandSpec; readonly dir: string; readonly note: Note }
  /** Record a state and go on. */
  | { readonly kind: 'report'; readonly note: Note }
  | { readonly kind: 'done'; readonly reason: string; readonly note?: Note }
  | { readonly kind: 'failed'; readonly reason: string; readonly note?: Note };

/** How an action stands after a pass. */
export type Outcome = 'done' | 'pending' | 'failed' | 'skipped';

/** The pass outcome of a step that ends the action for this pass. */
export function outcomeOf(step: Step): Outcome | undefined {
  switch (step.kind) {
    case 'wait':
      return 'pending';
    case 'skip':
      return 'skipped';
    case 'done':
      return 'done';
    case 'failed':
      return 'failed';
    default:
      return undefined;
  }
}
