/**
 * Runs a package's install/uninstall/detect (or a condition's check) program (DESIGN §3, §4):
 * argv without a shell, in its own process group, stdin closed, a minimal environment,
 * the whole group killed on timeout.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { CommandSpec } from '../../core/manifest/types.js';
import { OutputTail } from './output-tail.js';

/** Variables every Ferry command gets; more may be added. */
export interface CommandEnv {
  readonly FERRY_PACKAGE_DIR: string;
  readonly FERRY_INSTALL_ROOT: string;
  readonly [name: string]: string;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env: CommandEnv;
  /** Aborting kills the process group like a timeout does. */
  readonly signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL (default 5 s). */
  readonly killGraceMs?: number;
  /** Called once the program started, with its pid (= its process group id). */
  readonly onSpawn?: (pid: number) => void;
}

export interface CommandResult {
  /** The exit code; 127 when the program does not exist, 126 when it cannot be run; null when killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** The last 4 KiB of stdout and stderr, interleaved as they arrived. */
  readonly output: string;
  readonly durationMs: number;
  /** Why it did not run or did not finish by itself (`command not found: X`, `timed out after 30000 ms`). */
  readonly reason?: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment a command sees: PATH, HOME, LANG from the agent, then the spec's env, then Ferry's variables. */
export function commandEnvironment(spec: CommandSpec, env: CommandEnv): Record<string, string> {
  return {
    PATH: process.env.PATH ?? DEFAULT_PATH,
    HOME: process.env.HOME ?? '/',
    LANG: process.env.LANG ?? 'C.UTF-8',
    ...spec.env,
    ...env,
  };
}

/** Runs `spec` to completion; never throws for the program's own failures. `spec.timeoutMs <= 0` means no limit. */
export async function runCommand(spec: CommandSpec, options: RunOptions): Promise<CommandResult> {
  const started = Date.now();
  const [program, ...args] = spec.command;
  const notRun = (exitCode: number, reason: string): CommandResult => ({
    exitCode,
    signal: null,
    timedOut: false,
    aborted: false,
    output: '',
    durationMs: Date.now() - started,
    reason,
  });
  if (!program) return notRun(127, 'empty command');
  const cwdOk = await stat(options.cwd).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!cwdOk) return notRun(126, `working directory not found: ${options.cwd}`);
  if (options.signal?.aborted) return { ...notRun(130, 'aborted before start'), aborted: true };

  const tail = new OutputTail(4096);
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: commandEnvironment(spec, options.env),
    detached: true,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (c: Buffer) => tail.push(c));
  child.stderr.on('data', (c: Buffer) => tail.push(c));

  let timedOut = false;
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = () => {
    signalGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), options.killGraceMs ?? 5000);
  };
  const timer =
    spec.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          killGroup();
        }, spec.timeoutMs)
      : undefined;
  const onAbort = () => {
    aborted = true;
    killGroup();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException }>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    child.once('spawn', () => child.pid !== undefined && options.onSpawn?.(child.pid));
    child.once('exit', (code, signal) => {
      // Output may still be buffered; a background grandchild holding the pipes must not keep us waiting.
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code, signal });
      };
      child.once('close', finish);
      setTimeout(finish, 1000).unref();
    });
  });
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  if (killTimer) {
    // The leader is gone; make sure the rest of its group is too, at once.
    clearTimeout(killTimer);
    signalGroup(child.pid, 'SIGKILL');
  }
  const durationMs = Date.now() - started;
  if ('error' in outcome) {
    const code = outcome.error.code;
    if (code === 'ENOENT') return notRun(127, `command not found: ${program}`);
    if (code === 'EACCES') return notRun(126, `permission denied: ${program}`);
    return notRun(126, `cannot run ${program}: ${outcome.error.message}`);
  }
  const reason = timedOut
    ? `timed out after ${spec.timeoutMs} ms`
    : aborted
      ? 'aborted'
      : outcome.signal
        ? `killed by ${outcome.signal}`
        : outcome.code !== 0
          ? `exited with code ${outcome.code}`
          : undefined;
  return {
    exitCode: outcome.code,
    signal: outcome.signal,
    timedOut,
    aborted,
    output: tail.text(),
    durationMs,
    ...(reason ? { reason } : {}),
  };
}

/** True while a process (`target` > 0) or a process group (`target` < 0) exists, ours or not. */
export function processExists(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
