import type { Command } from 'commander';

/** Exit codes of every ferry command (DESIGN §3). */
export const ExitCode = {
  ok: 0,
  /** The thing checked is not ok: invalid manifests, a failed deployment. */
  notOk: 1,
  usage: 2,
  /** Cannot reach or authenticate to the controller. */
  unreachable: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A problem the user can fix; its message says what to do next. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.usage,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** The one place that turns a thrown error into output and an exit code. */
export function reportError(err: unknown): ExitCode {
  if (err instanceof UserError) {
    process.stderr.write(`ferry: ${err.message}\n`);
    return err.exitCode;
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`ferry: internal error (please report it): ${detail}\n`);
  return 70 as ExitCode;
}

const exitCodes = new WeakMap<Command, number>();

/** A command's action sets its exit code here instead of calling process.exit, so output is flushed. */
export function setExitCode(cmd: Command, code: number): void {
  exitCodes.set(cmd, code);
}

/** The exit code an action set, 0 when it set none. */
export function exitCodeOf(cmd: Command): number {
  return exitCodes.get(cmd) ?? ExitCode.ok;
}
