/** `ferry agent --relay` as a child process for the relay end-to-end tests: started, its listening address read from its log. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ferryBin } from '../support/ferry.js';

export interface RelayProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  /** Every JSON log line it wrote so far. */
  readonly events: Record<string, unknown>[];
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

export interface RelayProcessOptions {
  readonly listen: string;
  readonly server: string;
  readonly token: string;
  readonly name: string;
  readonly data: string;
  readonly installRoot: string;
  readonly cacheSize?: string;
  readonly extra?: readonly string[];
  /** Runs the process through this argv prefix (e.g. `ip netns exec NS`). */
  readonly prefix?: readonly string[];
}

/** Starts `ferry agent --relay` and resolves once it logs the address it serves on. */
export async function startRelayProcess(o: RelayProcessOptions): Promise<RelayProcess> {
  // biome-ignore format: flag and value pairs
  const args = [
    ferryBin, 'agent', '--relay', '--listen', o.listen, '--cache-size', o.cacheSize ?? '64MiB', '--server', o.server,
    '--enroll-token', o.token, '--name', o.name, '--data', o.data, '--install-root', o.installRoot, '--no-os-packages', '--interval', '1s',
    ...(o.extra ?? []),
  ];
  const [cmd, ...rest] = o.prefix && o.prefix.length > 0 ? [...o.prefix, process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const events: Record<string, unknown>[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      try {
        const e = JSON.parse(line) as { event?: string; url?: string };
        events.push(e);
        if (e.event === 'relay-listening' && e.url) resolve(e.url);
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`the relay exited with ${code} before listening`)));
  });
  return {
    child,
    url,
    exited,
    events,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
