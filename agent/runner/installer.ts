/** The seam that runs a package's programs: install, uninstall, detect and condition checks. */
import type { CommandSpec } from '../../core/manifest/types.js';

/**
 * How a program ended. `succeeded`: exit 0; `failed`: it ran and exited non-zero; `not-run`: it
 * could not be started (126, 127, no folder); `killed`: a signal, a timeout or an abort ended it.
 * Only `succeeded` and `failed` are answers from the program itself.
 */
export interface CommandOutcome {
  readonly kind: 'succeeded' | 'failed' | 'not-run' | 'killed';
  /** Absent when killed by a signal. */
  readonly exitCode?: number;
  /** The last 4 KiB of stdout and stderr. */
  readonly output: string;
  readonly durationMs: number;
  /** Why it did not succeed (`exited with code 7`, `command not found: x`, `timed out after 30000 ms`). */
  readonly reason?: string;
}

export interface RunRequest {
  /** The unpacked package folder: the working directory and `FERRY_PACKAGE_DIR`. */
  readonly dir: string;
  /** Called once the program started, with its process group id. */
  readonly onSpawn?: (pid: number) => void;
}

export interface Installer {
  /** Runs `spec` to its end; never throws for the program's own failures. */
  run(spec: CommandSpec, request: RunRequest): Promise<CommandOutcome>;
}
