/**
 * What the agent does at start-up with actions a crash interrupted while their program ran.
 *
 * Policy (DESIGN §6, "without a second install"): an install or uninstall found `installing` /
 * `uninstalling` in the journal is never rerun blindly. If its process group is still running
 * (the program outlived the agent), we wait for it. Then, if the package has a `detect` command,
 * we run it to decide: present → installed (or, for an uninstall, run it again); absent → installed
 * again from the downloaded folder (phase back to `downloaded`) or, for an uninstall, uninstalled.
 * Without `detect` the action is marked `failed` with the reason
 * `interrupted during install; not rerun automatically`, for an admin to look at.
 *
 * The pid is recorded just after the program starts, so a crash in between leaves no pid while
 * the program may already run. Then (on Linux) the processes whose environment names the
 * action's folder as `FERRY_PACKAGE_DIR` are the program and its children: we wait for those.
 */
import { readdir, readFile } from 'node:fs/promises';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { CommandSpec } from '../../core/manifest/types.js';
import { processExists } from '../executor/run-command.js';
import type { Reporter } from '../runner/reporter.js';
import type { ActionRecord } from './types.js';

export interface RecoveryDeps {
  /** The package's detect command for an action, if it has one. */
  readonly detectFor: (action: ActionRecord) => CommandSpec | undefined;
  /** Runs a detect command; true when it finds the package (exit 0). */
  readonly detect: (spec: CommandSpec, action: ActionRecord) => Promise<boolean>;
  /** True while a process group still runs (default: `kill(-pid, 0)`). */
  readonly groupAlive?: (pid: number) => boolean;
  /** Processes running a command in `dir` (default: the /proc scan of `commandsIn`). */
  readonly commandsIn?: (dir: string) => Promise<readonly number[]>;
  /** How long to wait for a leftover program to finish (default 10 min) and how often to look (default 1 s). */
  readonly waitMs?: number;
  readonly pollMs?: number;
  readonly clock?: Clock;
}

export type RecoveryDecision = 'installed' | 'reinstall' | 'uninstalled' | 'reuninstall' | 'failed' | 'still-running';

/** Resolves every interrupted install/uninstall in the journal (writing through `reporter`); returns what was decided per action id. */
export async function recoverInterrupted(reporter: Reporter, deps: RecoveryDeps): Promise<Map<string, RecoveryDecision>> {
  const decisions = new Map<string, RecoveryDecision>();
  const journal = reporter.journal;
  const alive = deps.groupAlive ?? groupAlive;
  const clock = deps.clock ?? systemClock;
  for (const a of journal.actions('installing', 'uninstalling')) {
    const waitMs = deps.waitMs ?? 600_000;
    const pollMs = deps.pollMs ?? 1000;
    if (a.pid !== undefined && !(await waitGone(a.pid, alive, waitMs, pollMs, clock))) {
      decisions.set(a.actionId, 'still-running');
      continue;
    }
    if (a.pid === undefined && a.dir !== undefined) {
      const left = await (deps.commandsIn ?? commandsIn)(a.dir);
      let gone = true;
      for (const pid of left) gone = gone && (await waitGone(pid, processExists, waitMs, pollMs, clock));
      if (!gone) {
        decisions.set(a.actionId, 'still-running');
        continue;
      }
    }
    const installing = a.phase === 'installing';
    const base = { actionId: a.actionId, serial: a.serial };
    const detectSpec = deps.detectFor(a);
    if (!detectSpec) {
      const reason = `interrupted during ${installing ? 'install' : 'uninstall'}; not rerun automatically`;
      reporter.transition({ ...base, phase: 'failed', reason, retry: 'new-serial' }, { actionId: a.actionId, serial: a.serial, state: 'failed', reason });
      decisions.set(a.actionId, 'failed');
      continue;
    }
    const present = await deps.detect(detectSpec, a);
    if (installing && present && a.package && a.version && a.deployment && a.dir) {
      reporter.markInstalled(
        base,
        { package: a.package, version: a.version, deployment: a.deployment, dir: a.dir },
        { actionId: a.actionId, serial: a.serial, state: 'installed', reason: 'install was interrupted; detect finds the package' },
      );
      decisions.set(a.actionId, 'installed');
    } else if (installing) {
      reporter.transition(
        present
          ? { ...base, phase: 'failed', reason: 'interrupted during install; journal lacks package details', retry: 'new-serial' }
          : { ...base, phase: 'downloaded', reason: 'install was interrupted; detect does not find the package, installing again' },
      );
      decisions.set(a.actionId, present ? 'failed' : 'reinstall');
    } else if (!present && a.package) {
      reporter.markUninstalled(base, a.package, {
        actionId: a.actionId,
        serial: a.serial,
        state: 'uninstalled',
        reason: 'uninstall was interrupted; detect no longer finds the package',
      });
      decisions.set(a.actionId, 'uninstalled');
    } else {
      reporter.transition({ ...base, phase: 'pending', reason: 'uninstall was interrupted; detect still finds the package, uninstalling again' });
      decisions.set(a.actionId, 'reuninstall');
    }
  }
  return decisions;
}

/** Linux: the processes whose environment has `FERRY_PACKAGE_DIR=dir`; none where there is no /proc. */
export async function commandsIn(dir: string): Promise<readonly number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const needle = Buffer.from(`\0FERRY_PACKAGE_DIR=${dir}\0`);
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`).catch(() => undefined);
    if (environ && Buffer.concat([Buffer.from([0]), environ]).includes(needle)) found.push(Number(entry));
  }
  return found;
}

const groupAlive = (pid: number) => processExists(-pid);

async function waitGone(pid: number, alive: (pid: number) => boolean, waitMs: number, pollMs: number, clock: Clock): Promise<boolean> {
  const deadline = clock.now() + waitMs;
  while (alive(pid)) {
    if (clock.now() >= deadline) return false;
    await clock.sleep(pollMs);
  }
  return true;
}
