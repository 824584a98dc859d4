import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Child } from '../../cli/demo/children.js';

/** The repository root (tests run from the TypeScript sources). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The built ferry command, as a user runs it. */
export const ferryBin = fileURLToPath(new URL('../../bin/ferry.js', import.meta.url));

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ferry ARGS` as a real process and collects its output. */
export function runFerry(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ferryBin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** The URL a `ferry controller` child (started with `pipeStdout`) prints once it listens; rejects if it exits first. */
export function listeningUrl(controller: Child): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: controller.process.stdout! });
    lines.on('line', (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    void controller.exited.then(() => reject(new Error(`the controller exited; see ${controller.logFile}`)));
  });
}
