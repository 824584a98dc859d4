/**
 * A `ferry controller` process for the fault suite, and a flood of agent reports against it that
 * remembers which report ids the controller acknowledged (a 2xx answer) — the ids it promised to
 * keep whatever happens next.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ferryBin } from '../support/ferry.js';

export interface ControllerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly adminToken: string;
  /** Resolves with the exit code or signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its stderr (JSON log lines) so far. */
  log(): string;
  /** SIGTERM, then SIGKILL if it has not exited after 10 s. */
  stop(): Promise<void>;
}

/** A manifest folder with one group: the controller has something to follow. */
export async function makeManifests(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'groups.yaml'), 'apiVersion: ferry/v1\nkind: Group\nmetadata: {name: flood}\nspec: {hosts: [flood-1]}\n');
  return dir;
}

/** Starts `ferry controller` on a free port; resolves once it listens (rejects if it exits first). */
export async function startControllerProcess(o: {
  readonly data: string;
  readonly repo: string;
  readonly db?: string;
  readonly env?: NodeJS.ProcessEnv;
}): Promise<ControllerProcess> {
  const args = ['controller', '--repo', o.repo, '--data', o.data, '--listen', '127.0.0.1:0', ...(o.db ? ['--db', o.db] : [])];
  const child = spawn(process.execPath, [ferryBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_CRASH_AT: '', ...o.env } });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    void exited.then((e) => reject(new Error(`ferry controller exited (${e.code ?? e.signal}) before listening: ${stderr.slice(-2000)}`)));
  });
  const adminToken = (await readFile(join(o.data, 'admin.token'), 'utf8')).trim();
  return {
    child,
    url,
    adminToken,
    exited,
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Enrolls `host` with a fresh enrollment token; returns its credential. */
export async function enrollHost(url: string, adminToken: string, host: string): Promise<string> {
  const t = await fetch(`${url}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: '{}' });
  if (t.status !== 201) throw new Error(`POST /v1/tokens: ${t.status} ${await t.text()}`);
  const { token } = (await t.json()) as { token: string };
  const e = await fetch(`${url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, host, facts: {}, labels: {} }) });
  if (e.status !== 201) throw new Error(`POST /v1/enroll: ${e.status} ${await e.text()}`);
  return ((await e.json()) as { credential: string }).credential;
}

export interface FloodOptions {
  readonly url: () => string;
  readonly host: string;
  readonly credential: string;
  /** Concurrent senders, each sending its batches one after the other. */
  readonly clients: number;
  readonly batchesPerClient: number;
  /** When given, senders send new batches until it returns true (batchesPerClient is then ignored). */
  readonly until?: () => boolean;
  readonly batchSize: number;
  /** `until-acked`: a failed batch is sent again (same ids) until acknowledged, as an agent does; `stop`: a sender stops at its first failure. */
  readonly onFailure: 'until-acked' | 'stop';
  /** Called after each acknowledged batch with the count so far (the test starts its fault from here). */
  readonly onAck?: (acked: number) => void;
  /** Per request, ms (default 15 s): nothing may hang past it. */
  readonly timeoutMs?: number;
}

export interface FloodResult {
  /** Ids of every report in an acknowledged batch. */
  readonly acked: Set<string>;
  /** Every batch sent, by its ids, and whether it was acknowledged. */
  readonly batches: { readonly ids: readonly string[]; acked: boolean }[];
  /** Failed requests (network errors, 5xx, timeouts), with why. */
  readonly failures: string[];
}

/** Sends `clients × batchesPerClient` batches of distinct reports for `host`. */
export async function flood(o: FloodOptions): Promise<FloodResult> {
  const result: FloodResult = { acked: new Set(), batches: [], failures: [] };
  let ackedBatches = 0;
  const sender = async (c: number): Promise<void> => {
    for (let b = 0; o.until ? !o.until() : b < o.batchesPerClient; b++) {
      const at = new Date().toISOString();
      const results = Array.from({ length: o.batchSize }, (_, i) => ({
        id: `flood-${c}-${b}-${i}`,
        actionId: `flood/pkg-${c}@1.0.${b}/install`,
        serial: 1,
        state: i === o.batchSize - 1 ? 'installed' : 'downloading',
        at,
      }));
      const batch = { ids: results.map((r) => r.id), acked: false };
      result.batches.push(batch);
      for (;;) {
        const why = await send(o, results);
        if (why === undefined) {
          batch.acked = true;
          for (const id of batch.ids) result.acked.add(id);
          o.onAck?.(++ackedBatches);
          break;
        }
        result.failures.push(why);
        if (o.onFailure === 'stop') return;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, c) => sender(c)));
  return result;
}

/** Undefined when the controller acknowledged the batch; otherwise why not. */
async function send(o: FloodOptions, results: readonly object[]): Promise<string | undefined> {
  try {
    const res = await fetch(`${o.url()}/v1/hosts/${o.host}/reports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.credential}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results }),
      signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
    });
    const text = await res.text();
    if (res.status >= 200 && res.status < 300) return undefined;
    if (res.status < 500) throw new Error(`the controller refused a batch: ${res.status} ${text}`);
    return `${res.status} ${text.slice(0, 200)}`;
  } catch (e) {
    if ((e as Error).message.startsWith('the controller refused')) throw e;
    const cause = (e as { cause?: { code?: string } }).cause;
    return cause?.code ?? (e as Error).name;
  }
}
