/** The real Installer: a package's programs run by executor/run-command.ts, with Ferry's variables. */
import type { CommandSpec } from '../../core/manifest/types.js';
import { runCommand, type CommandResult } from '../executor/run-command.js';
import type { CommandOutcome, Installer, RunRequest } from './installer.js';

export class CommandInstaller implements Installer {
  /** `installRoot`: `FERRY_INSTALL_ROOT` of every program. */
  constructor(private readonly installRoot: string) {}

  async run(spec: CommandSpec, request: RunRequest): Promise<CommandOutcome> {
    const r = await runCommand(spec, {
      cwd: request.dir,
      env: { FERRY_PACKAGE_DIR: request.dir, FERRY_INSTALL_ROOT: this.installRoot },
      ...(request.onSpawn ? { onSpawn: request.onSpawn } : {}),
    });
    return commandOutcome(r);
  }
}

/** run-command's result as a typed outcome. */
export function commandOutcome(r: CommandResult): CommandOutcome {
  const kind: CommandOutcome['kind'] =
    r.timedOut || r.aborted || r.exitCode === null ? 'killed' : r.exitCode === 0 ? 'succeeded' : r.exitCode === 126 || r.exitCode === 127 ? 'not-run' : 'failed';
  return {
    kind,
    ...(r.exitCode !== null ? { exitCode: r.exitCode } : {}),
    output: r.output,
    durationMs: r.durationMs,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
}
