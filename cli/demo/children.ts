/**
 * The demo's child processes: each runs in a process group of its own (so a terminal's Ctrl-C
 * reaches only the demo, which then stops them in order), with its output in a log file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process has exited. */
  hasExited(): boolean;
}

export interface SpawnOptions {
  readonly name: string;
  readonly argv: readonly string[];
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Pipe stdout to the caller instead of the log file (the controller prints its address there). */
  readonly pipeStdout?: boolean;
}

/** Owns every process the demo started; `stopAll` ends them, `killAllSync` is the last resort on exit. */
export class ChildGroup {
  private readonly children: Child[] = [];

  constructor() {
    // If the demo dies without stopping its children, take them down with it.
    process.on('exit', () => this.killAllSync());
  }

  /** Starts `argv[0] argv[1..]` as the leader of a new process group. */
  start(o: SpawnOptions): Child {
    const fd = openSync(o.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(o.argv[0]!, o.argv.slice(1), {
        cwd: o.cwd,
        env: o.env ?? process.env,
        detached: true,
        stdio: ['ignore', o.pipeStdout ? 'pipe' : fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    let done = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => {
        done = true;
        resolve({ code, signal });
      });
      child.once('error', () => {
        done = true;
        resolve({ code: null, signal: null });
      });
    });
    if (child.pid === undefined) throw new Error(`could not start ${o.name}: ${o.argv[0]}`);
    const entry: Child = { name: o.name, pid: child.pid, process: child, logFile: o.logFile, exited, hasExited: () => done };
    this.children.push(entry);
    return entry;
  }

  list(): readonly Child[] {
    return this.children;
  }

  /**
   * Sends SIGTERM to each group in `order` (agents before the controller), waits up to
   * `graceMs` for each batch, then SIGKILLs what is left. Resolves once every process has exited.
   */
  async stopAll(order: readonly (readonly Child[])[], graceMs = 8000): Promise<void> {
    const batches = order.length > 0 ? order : [this.children];
    const seen = new Set<Child>();
    for (const batch of [...batches, this.children]) {
      const todo = batch.filter((c) => !seen.has(c));
      todo.forEach((c) => seen.add(c));
      await Promise.all(todo.map((c) => stopOne(c, graceMs)));
    }
  }

  /** SIGKILLs every group still running (synchronous: safe in an `exit` handler). */
  killAllSync(): void {
    for (const c of this.children) {
      if (!c.hasExited()) signalGroup(c.pid, 'SIGKILL');
    }
  }
}

async function stopOne(c: Child, graceMs: number): Promise<void> {
  if (c.hasExited()) {
    signalGroup(c.pid, 'SIGKILL'); // grandchildren (an install script) may outlive their agent
    return;
  }
  signalGroup(c.pid, 'SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([c.exited, timer])) === 'timeout') {
    signalGroup(c.pid, 'SIGKILL');
    await c.exited;
  }
  signalGroup(c.pid, 'SIGKILL');
}

/** Signals the whole process group led by `pid`; a group that is already gone is fine. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}
