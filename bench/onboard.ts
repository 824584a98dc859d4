/**
 * `npm run bench -- onboard [--hosts 10000[,100000]] [--connections 96]` (issue 17): a fleet
 * joins a controller through the public API — `POST /v1/enroll`, then
 * `PUT /v1/hosts/{host}/inventory` — from many loopback source addresses (10 hosts each, so the
 * per-address enrollment limit never applies), many at a time. The controller (`startController`:
 * SQLite, a manifest directory with 18 label groups and no deployments) runs in a child process,
 * so the load generator does not share its event loop. Prints the enrollment rate per 10% of the
 * fleet, the controller's RSS and CPU over time, its reconcile passes and hosts planned, and how
 * long sampled hosts waited between their first inventory and their first plan.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v8 from 'node:v8';
import { systemClock } from '../lib/clock.js';
import { sendJson } from '../test/support/http.js';

const require_v8 = () => v8;

const GROUPS = 18;
const HOSTS_PER_ADDRESS = 10;
const PLAN_SAMPLE_EVERY = 97;

interface ChildReady {
  readonly port: number;
  readonly adminToken: string;
  readonly pid: number;
}

interface ReconcileCounters {
  readonly passes: number;
  readonly hostsPlanned: number;
  readonly heapUsed: number;
  readonly heapBeforeGc: number;
  readonly external: number;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Host i's manifests: labels that spread the fleet over the 18 groups' selectors. */
const labelsOf = (i: number): Record<string, string> => ({ dept: `dept-${i % 6}`, site: `site-${i % 3}`, tier: `tier-${i % 9}` });
const hostName = (i: number): string => `host-${String(i).padStart(6, '0')}`;
/** 127.a.b.c, never 127.0.0.1 (the controller's own address), 10 hosts per address. */
function sourceAddress(i: number): string {
  const n = Math.floor(i / HOSTS_PER_ADDRESS) + 256;
  return `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function manifests(): string {
  const docs: string[] = [];
  const selectors: Record<string, string>[] = [];
  for (let d = 0; d < 6; d++) selectors.push({ dept: `dept-${d}` });
  for (let s = 0; s < 3; s++) selectors.push({ site: `site-${s}` });
  for (let t = 0; t < 9; t++) selectors.push({ tier: `tier-${t}` });
  selectors.slice(0, GROUPS).forEach((labels, g) => {
    const [k, v] = Object.entries(labels)[0]!;
    docs.push(`apiVersion: ferry/v1\nkind: Group\nmetadata: {name: group-${g}}\nspec:\n  selector:\n    labels: {${k}: ${v}}\n`);
  });
  return docs.join('---\n');
}

/** The controller side: `startController` on SQLite and a manifest directory. */
async function controllerChild(dir: string): Promise<void> {
  const { startController } = await import('../controller/controller.js');
  const { pino } = await import('pino');
  const controller = await startController({
    dir: join(dir, 'manifests'),
    branch: 'main',
    db: `sqlite:${join(dir, 'ferry.db')}`,
    data: join(dir, 'data'),
    listen: '127.0.0.1:0',
    pollMs: 3_600_000,
    logger: pino({ level: process.env['FERRY_BENCH_LOG'] ?? 'warn' }),
    clock: systemClock,
  });
  const adminToken = readFileSync(controller.adminTokenFile, 'utf8').trim();
  process.send?.({ ready: { port: controller.port, adminToken, pid: process.pid } });
  process.on('message', (m: { counters?: boolean; stop?: boolean; snapshot?: boolean }) => {
    if (m.counters) {
      const c = controller.reconciler()?.status().counters;
      const before = process.memoryUsage().heapUsed;
      (globalThis as { gc?: () => void }).gc?.();
      const m = { heapUsed: process.memoryUsage().heapUsed, external: process.memoryUsage().external, heapBeforeGc: before };
      process.send?.({ counters: { ...(c ?? { passes: 0, hostsPlanned: 0, inventoriesRead: 0 }), ...m } });
    }
    if (m.snapshot) {
      global.gc?.();
      const file = require_v8().writeHeapSnapshot(join(dir, '..', 'onboard.heapsnapshot'));
      process.send?.({ snapshot: file });
    }
    if (m.stop) void controller.stop().then(() => process.exit(0));
  });
}

function once<T>(child: ChildProcess, pick: (m: Record<string, unknown>) => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the benchmark controller did not answer in time')), timeoutMs);
    const onExit = (code: number | null) => reject(new Error(`the benchmark controller exited with ${code}`));
    const onMessage = (m: Record<string, unknown>) => {
      const v = pick(m);
      if (v === undefined) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(v);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** CPU seconds (user + system) and RSS bytes of a process, from /proc. */
function usage(pid: number): { cpuS: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuS: ticks / 100, rss: rssKb * 1024 };
}

const mib = (b: number): string => `${(b / 1024 ** 2).toFixed(0)} MiB`;

async function onboard(hosts: number, connections: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-onboard-'));
  await mkdir(join(dir, 'manifests'), { recursive: true });
  await writeFile(join(dir, 'manifests', 'groups.yaml'), manifests());
  const here = fileURLToPath(import.meta.url);
  const child = fork(here, [], {
    execArgv: ['--expose-gc', ...(process.env['FERRY_BENCH_CHILD_ARGS'] ?? '').split(' ').filter(Boolean)],
    env: { ...process.env, FERRY_BENCH_ONBOARD_CHILD: dir },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = await once(child, (m) => m['ready'] as ChildReady | undefined, 60_000);
    const admin = new Agent({ keepAlive: true, maxSockets: 4 });
    const tokenReply = await sendJson(admin, ready.port, 'POST', '/v1/tokens', ready.adminToken, { ttl: '1d' });
    if (tokenReply.status !== 201 && tokenReply.status !== 200) throw new Error(`POST /v1/tokens: ${tokenReply.status} ${tokenReply.body}`);
    const token = (JSON.parse(tokenReply.body) as { token: string }).token;
    const counters = async (): Promise<ReconcileCounters> => {
      child.send({ counters: true });
      return once(child, (m) => m['counters'] as ReconcileCounters | undefined, 60_000);
    };

    const decile = Math.max(1, Math.ceil(hosts / 10));
    const decileEnds: number[] = [];
    const planWaits: number[] = [];
    const planWaiting: Promise<void>[] = [];
    let next = 0;
    let done = 0;
    let failures = 0;
    const started = performance.now();
    const samples: { t: number; done: number; cpuS: number; rss: number }[] = [];
    const start = usage(ready.pid);
    const sampler = setInterval(() => {
      const u = usage(ready.pid);
      samples.push({ t: (performance.now() - started) / 1000, done, cpuS: u.cpuS - start.cpuS, rss: u.rss });
    }, 1000);

    const waitForPlan = async (agent: Agent, name: string, credential: string, from: number): Promise<void> => {
      for (;;) {
        const r = await sendJson(agent, ready.port, 'GET', `/v1/hosts/${name}/plan`, credential);
        if (r.status === 200) {
          planWaits.push(performance.now() - from);
          return;
        }
        if (r.status !== 404) throw new Error(`GET plan of ${name}: ${r.status} ${r.body}`);
        await new Promise((ok) => setTimeout(ok, 50));
      }
    };

    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= hosts) return;
        const name = hostName(i);
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const localAddress = sourceAddress(i);
        try {
          const facts = { os: { platform: 'linux', release: '6.1' }, arch: 'x64', cpus: 4 + (i % 4), memory: { totalBytes: 8 * 1024 ** 3 } };
          const labels = labelsOf(i);
          const enrolled = await sendJson(agent, ready.port, 'POST', '/v1/enroll', '', { token, host: name, facts, labels }, localAddress);
          if (enrolled.status !== 201) throw new Error(`enroll ${name}: ${enrolled.status} ${enrolled.body}`);
          const credential = (JSON.parse(enrolled.body) as { credential: string }).credential;
          const software = [
            { name: 'ferry-agent', version: '0.1.0', source: 'ferry' },
            { name: 'openssl', version: '3.0.13', source: 'dpkg' },
          ];
          const inv = await sendJson(agent, ready.port, 'PUT', `/v1/hosts/${name}/inventory`, credential, { facts, labels, software }, localAddress);
          if (inv.status !== 200) throw new Error(`inventory ${name}: ${inv.status} ${inv.body}`);
          if (i % PLAN_SAMPLE_EVERY === 0) {
            const planAgent = new Agent({ keepAlive: true, maxSockets: 1 });
            planWaiting.push(waitForPlan(planAgent, name, credential, performance.now()).finally(() => planAgent.destroy()));
          }
        } catch (err) {
          failures += 1;
          if (failures <= 5) console.error(String(err));
        } finally {
          agent.destroy();
        }
        done += 1;
        if (done % decile === 0 || done === hosts) {
          const t = performance.now();
          const from = decileEnds[decileEnds.length - 1] ?? started;
          decileEnds.push(t);
          // Progress as it happens, so a run stopped early still tells its story.
          console.log(
            `  ${done.toLocaleString('en')} hosts at ${((t - started) / 1000).toFixed(0)} s: ${Math.round(decile / ((t - from) / 1000))} hosts/s in this 10%, controller RSS ${mib(usage(ready.pid).rss)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: connections }, worker));
    await Promise.all(planWaiting);
    clearInterval(sampler);
    const elapsed = (performance.now() - started) / 1000;
    const end = usage(ready.pid);
    const c = await counters();
    if (process.env['FERRY_BENCH_HEAP_SNAPSHOT']) {
      child.send({ snapshot: true });
      console.log(`  heap snapshot: ${await once(child, (m) => m['snapshot'] as string | undefined, 300_000)}`);
    }

    console.log(`${hosts.toLocaleString('en')} hosts, ${connections} at a time: ${elapsed.toFixed(1)} s, ${(hosts / elapsed).toFixed(0)} hosts/s overall, ${failures} failed`);
    const rates = decileEnds.map((t, k) => {
      const from = k === 0 ? started : decileEnds[k - 1]!;
      return Math.round(decile / ((t - from) / 1000));
    });
    console.log(`  hosts/s per 10% of the fleet: ${rates.join(' ')}  (last/first ${(rates[rates.length - 1]! / rates[0]!).toFixed(2)})`);
    const every = Math.max(1, Math.ceil(samples.length / 12));
    const rssLine = samples.filter((_, k) => k % every === 0 || k === samples.length - 1).map((s) => `${s.t.toFixed(0)}s:${(s.done / 1000).toFixed(1)}k/${mib(s.rss)}`);
    console.log(`  controller RSS over time (t:hosts/RSS): ${rssLine.join(' ')}`);
    console.log(
      `  controller peak RSS ${mib(Math.max(...samples.map((s) => s.rss), end.rss))}, CPU ${(end.cpuS - start.cpuS).toFixed(1)} s (${(((end.cpuS - start.cpuS) / elapsed) * 100).toFixed(0)}% of one core), ${(((end.cpuS - start.cpuS) / hosts) * 1e6).toFixed(0)} µs CPU per host`,
    );
    console.log(`  controller heap at the end: ${mib(c.heapBeforeGc)} used, ${mib(c.heapUsed)} live after a full GC`);
    console.log(`  reconcile: ${c.passes} passes, ${c.hostsPlanned.toLocaleString('en')} hosts planned (${(c.hostsPlanned / hosts).toFixed(2)} per host enrolled)`);
    planWaits.sort((a, b) => a - b);
    const q = (p: number) => planWaits[Math.min(planWaits.length - 1, Math.floor(p * planWaits.length))] ?? Number.NaN;
    console.log(
      `  first inventory → first plan (${planWaits.length} sampled hosts): p50 ${q(0.5).toFixed(0)} ms, p99 ${q(0.99).toFixed(0)} ms, max ${(planWaits[planWaits.length - 1] ?? Number.NaN).toFixed(0)} ms`,
    );
    admin.destroy();
  } finally {
    child.send({ stop: true });
    await new Promise((ok) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => ok(clearTimeout(kill)));
    });
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const sizes = (flag('hosts') ?? process.env['FERRY_BENCH_HOSTS'] ?? '10000').split(',').map(Number);
  const connections = Number(flag('connections') ?? 96);
  for (const n of sizes) await onboard(n, connections);
}

const childDir = process.env['FERRY_BENCH_ONBOARD_CHILD'];
if (childDir !== undefined && process.send !== undefined) await controllerChild(childDir);
