/**
 * Deterministic crash points for the fault-injection suite (`test/fault/`): a process started
 * with `FERRY_CRASH_AT=NAME[:N]` kills itself with SIGKILL the Nth time (default the first) it
 * reaches the point NAME — no `finally`, no flush, no exit handler runs, as in a power cut or an
 * OOM kill. Without the variable every `crashPoint()` call is a no-op.
 *
 * Every point is named here, with what is on disk when it fires; docs/development.md lists them.
 */
import { writeSync } from 'node:fs';

/** The named points and, for each, the state the process leaves behind. */
export const crashPoints = {
  'agent.download.started': 'the `downloading` state is journaled; no byte fetched yet',
  'agent.download.progress': 'a chunk of the artifact is in its `.part` file (N counts progress callbacks)',
  'agent.download.fetched': 'the artifact is complete and verified on disk; `downloaded` is not journaled yet',
  'agent.unpack.done': 'the artifact is unpacked into its package folder; the install has not started',
  'agent.install.before-exec': '`installing` is journaled; the installer has not started',
  'agent.install.after-exec': 'the installer exited; its outcome is not journaled yet',
  'agent.uninstall.before-exec': '`uninstalling` is journaled; the uninstaller has not started',
  'agent.uninstall.after-exec': 'the uninstaller exited; its outcome is not journaled yet',
  'agent.journal.uncommitted': 'inside a journal transaction: the report is queued but the transaction has not committed (N counts queued reports)',
  'agent.journal.committed': 'a journal transaction (phase and its report) has committed (N counts them)',
  'agent.report.before-post': 'a batch of reports is read from the outbox; nothing is sent',
  'agent.report.after-post': 'the controller acknowledged a batch; the outbox still holds it',
  'controller.reports.received': 'a batch of reports is parsed and validated; nothing is stored',
  'controller.reports.stored': "a batch of reports is committed to the store; the agent's request is not answered yet",
} as const;

export type CrashPointName = keyof typeof crashPoints;

/** The environment variable that arms one point. */
export const crashAtVariable = 'FERRY_CRASH_AT';

interface Armed {
  readonly name: string;
  readonly at: number;
  reached: number;
}

/** The point armed by `value` (`NAME` or `NAME:N`): none when unset, a problem when malformed or unknown. */
export function parseCrashAt(value: string | undefined): { readonly name: CrashPointName; readonly at: number } | { readonly problem: string } | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^([a-z.-]+)(?::([1-9][0-9]*))?$/.exec(value);
  if (!m || !(m[1]! in crashPoints)) return { problem: `${crashAtVariable}=${value}: not a crash point (NAME or NAME:N; names in lib/crash-point.ts); ignored` };
  return { name: m[1] as CrashPointName, at: m[2] ? Number(m[2]) : 1 };
}

const parsed = parseCrashAt(process.env[crashAtVariable]);
// A typo must not go unnoticed: the process says so, and runs without a crash point.
if (parsed && 'problem' in parsed) writeSync(2, `${parsed.problem}\n`);
const armed: Armed | undefined = parsed && 'name' in parsed ? { ...parsed, reached: 0 } : undefined;

/** Kills this process with SIGKILL if `name` is the armed point and this is its Nth visit; otherwise nothing. */
export function crashPoint(name: CrashPointName): void {
  if (armed === undefined || armed.name !== name) return;
  armed.reached += 1;
  if (armed.reached !== armed.at) return;
  writeSync(2, `crash point ${name}:${armed.at} reached; killing process ${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
}
