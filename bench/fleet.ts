/**
 * `npm run bench -- fleet --hosts 10000[,100000] [flags]` (issues 14 and 17): a simulated fleet of
 * N agents against real controller processes, over real HTTP with real credentials:
 *
 * 1. onboarding: every agent enrolls through `POST /v1/enroll` (one source address: the
 *    controller runs with `--enroll-rate` raised, a fleet behind one NAT) and sends its first
 *    inventory, `--connections` at a time, each agent on its own connection; sampled agents then
 *    poll until their first plan. Prints hosts/s per 10% of the fleet, RSS, the controller's CPU
 *    per host, and first inventory → first plan p50/p99.
 * 2. polls at the real timing: every agent polls its plan every 60 s ±20% (`--time-scale S` divides
 *    the interval), with `If-None-Match` once it has an ETag; prints poll p50/p99 and the
 *    controller's CPU % at that rate.
 * 3. the most polls the controller answers, 304 (with ETags) and 200 (full signed plan), rotating
 *    over up to 10,000 hosts spread over the fleet (autocannon, 50 connections × 4 pipelined), side by side with nginx serving the same
 *    signed plans as files with its ETags, in the same run and on the same core.
 * 4. ingestion: every agent posts 20 results (`POST /v1/hosts/{host}/reports`), 50 at a time;
 *    prints results/s and p99.
 *
 * Controllers run in child processes pinned (taskset) to core 0 with nginx; this process — the
 * load generator — is pinned to core 1, so the controller's CPU is its own. Every figure comes
 * with the controller's CPU seconds from /proc. `--db postgres --replicas 3` runs three controllers
 * on one PostgreSQL schema (FERRY_TEST_POSTGRES, or the local server), agents spread over them
 * (`--agents followers`: over the followers only, so the leader's CPU per host is what leading
 * costs — planning, signing and writing plans — without a share of the API).
 * `--cpu-prof DIR` writes the controllers' V8 CPU profiles there. `--kill-leader` (with replicas)
 * SIGKILLs the leading replica half-way through the polls while reports keep coming: it prints the
 * polls answered and failed (an agent whose replica died moves to another), how long until a
 * follower led, and checks that every report a replica acknowledged is in the database.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { systemClock } from '../lib/clock.js';
import { sendJson } from '../test/support/http.js';
import { autocannon, flag, type AutocannonResult } from './support/load.js';
import { ensureNginx, startNginx } from './support/nginx.js';

const GROUPS = 18;
const PLAN_SAMPLE_EVERY = 97;
const POLL_INTERVAL_S = 60;
const MAX_CONNECTIONS = 50;
const RESULTS_PER_REPORT = 20;
/** Hosts the most-polls phase rotates over, at most (spread over the fleet). */
const MAX_ROTATION = 10_000;
/**
 * Requests in flight per connection in the most-polls phase, for nginx and the controller alike: one
 * request at a time, the load generator (one core, ~20 µs of JS per request) is the bound, not the
 * server (neither reached its core), and the ratio says little.
 */
const MAX_PIPELINING = 4;
/**
 * Seconds each most-polls line measures. autocannon builds every connection's requests before its
 * clock starts, so the servers' CPU over the call is divided by these seconds, not the call's wall time.
 */
const BLAST_SECONDS = 10;
/** Report calls of the ingestion phase: one per host, at most this many. */
const MAX_INGEST_CALLS = 25_000;

const labelsOf = (i: number): Record<string, string> => ({ dept: `dept-${i % 6}`, site: `site-${i % 3}`, tier: `tier-${i % 9}` });
const hostName = (i: number): string => `host-${String(i).padStart(7, '0')}`;

/** 18 label groups and no deployments (issue 17's repository): every host's plan is signed, with no action. */
function manifests(): string {
  const docs: string[] = [];
  const selectors: [string, string][] = [];
  for (let d = 0; d < 6; d++) selectors.push(['dept', `dept-${d}`]);
  for (let s = 0; s < 3; s++) selectors.push(['site', `site-${s}`]);
  for (let t = 0; t < 9; t++) selectors.push(['tier', `tier-${t}`]);
  selectors.slice(0, GROUPS).forEach(([k, v], g) => {
    docs.push(`apiVersion: ferry/v1\nkind: Group\nmetadata: {name: group-${g}}\nspec:\n  selector:\n    labels: {${k}: ${v}}\n`);
  });
  return docs.join('---\n');
}

// ------------------------------------------------------------------ the controller process

interface ChildReady {
  readonly port: number;
  readonly adminToken: string;
  readonly pid: number;
}

async function controllerChild(config: { dir: string; data: string; db: string; schema?: string }): Promise<void> {
  const { startController } = await import('../controller/controller.js');
  const { pino } = await import('pino');
  const controller = await startController({
    dir: join(config.dir, 'manifests'),
    branch: 'main',
    db: config.db,
    data: config.data,
    listen: '127.0.0.1:0',
    pollMs: 3_600_000,
    logger: pino({ level: process.env['FERRY_BENCH_LOG'] ?? 'warn' }),
    clock: systemClock,
    leaderIntervalMs: 1000,
    enrollRateLimit: { perMinute: 1_000_000, burst: 1_000_000 },
    ...(config.schema !== undefined && { storeOptions: { schema: config.schema } }),
  });
  const adminToken = readFileSync(controller.adminTokenFile, 'utf8').trim();
  process.send?.({ ready: { port: controller.port, adminToken, pid: process.pid } });
  process.on('message', (m: { counters?: boolean; stop?: boolean; leader?: boolean }) => {
    if (m.leader) process.send?.({ isLeader: controller.isLeader() });
    if (m.counters) {
      const c = controller.reconciler()?.status().counters;
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      const memory = { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
      process.send?.({ counters: { passes: c?.passes ?? 0, hostsPlanned: c?.hostsPlanned ?? 0, heapUsed: m.heapUsed, memory } });
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
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { cpuS: (Number(fields[11]) + Number(fields[12])) / 100, rss: rssKb * 1024 };
  } catch {
    return { cpuS: 0, rss: 0 };
  }
}

/** Pins a process to one CPU (no-op where taskset or the core is missing). */
function pin(pid: number, core: number): void {
  try {
    execFileSync('taskset', ['-a', '-pc', String(core), String(pid)], { stdio: 'ignore' });
  } catch {
    // not pinned: the figures then share cores, and say so by their CPU %
  }
}

/**
 * CPU seconds of the PostgreSQL backends serving this run's controllers (their connections carry
 * the run's `application_name`), from /proc: `sample()` looks the backends up (a pool closes idle
 * connections, so call it often: a backend gone keeps the CPU last read), `cpuS()` sums them.
 */
function postgresBackends(url: string, applicationName: string): { sample(): Promise<void>; cpuS(): number; close(): Promise<void> } {
  const client = new pg.Client({ connectionString: url });
  const connected = client.connect();
  const last = new Map<number, number>();
  return {
    async sample() {
      await connected;
      const rows = (await client.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [applicationName])).rows;
      for (const { pid } of rows) {
        const u = usage(pid);
        if (u.rss > 0) last.set(pid, u.cpuS);
      }
    },
    cpuS: () => [...last.values()].reduce((a, b) => a + b, 0),
    close: () => client.end(),
  };
}

const mib = (b: number): string => `${(b / 1024 ** 2).toFixed(0)} MiB`;
const quantile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
const ms = (v: number): string => `${v.toFixed(v < 10 ? 1 : 0)} ms`;

interface Controllers {
  readonly children: ChildProcess[];
  readonly ready: ChildReady[];
  /** Total CPU seconds and RSS of every controller process now (a killed one: its CPU until it died, no RSS). */
  usage(): { cpuS: number; rss: number };
  /** RSS of each replica now (0 once killed). */
  rssEach(): number[];
  /** CPU seconds of each replica so far (a killed one: until it died). */
  cpuEach(): number[];
  /** Replicas still running. */
  alive(): number[];
}

async function startControllers(dir: string, replicas: number, db: string, schema: string | undefined, cpuProf: string | undefined): Promise<Controllers> {
  const here = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  const ready: ChildReady[] = [];
  for (let r = 0; r < replicas; r++) {
    const data = join(dir, `data-${r}`);
    await mkdir(data, { recursive: true });
    if (r > 0) {
      // Replicas share the signing key and the admin token (docs/controller.md).
      for (const f of ['controller.key', 'admin.token']) copyFileSync(join(dir, 'data-0', f), join(data, f));
    }
    const child = fork(here, [], {
      execArgv: ['--expose-gc', ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [])],
      env: { ...process.env, FERRY_BENCH_FLEET_CHILD: JSON.stringify({ dir, data, db, ...(schema !== undefined && { schema }) }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    pin(child.pid!, 0);
    ready.push(await once(child, (m) => m['ready'] as ChildReady | undefined, 120_000));
  }
  const lastCpu = new Map<number, number>();
  const each = () =>
    ready.map((c) => {
      const u = usage(c.pid);
      if (u.rss > 0) lastCpu.set(c.pid, u.cpuS);
      return { cpuS: u.rss > 0 ? u.cpuS : (lastCpu.get(c.pid) ?? 0), rss: u.rss };
    });
  const alive = () => children.flatMap((child, r) => (child.exitCode === null && child.signalCode === null ? [r] : []));
  return {
    children,
    ready,
    usage: () => each().reduce((a, b) => ({ cpuS: a.cpuS + b.cpuS, rss: a.rss + b.rss }), { cpuS: 0, rss: 0 }),
    rssEach: () => each().map((u) => u.rss),
    cpuEach: () => each().map((u) => u.cpuS),
    alive,
  };
}

/** Which replica leads now (asked over IPC), or undefined when none says so. */
async function leaderOf(c: Controllers): Promise<number | undefined> {
  for (const r of c.alive()) {
    const child = c.children[r]!;
    child.send({ leader: true });
    if (await once(child, (m) => m['isLeader'] as boolean | undefined, 10_000)) return r;
  }
  return undefined;
}

async function stopControllers(c: Controllers): Promise<void> {
  await Promise.all(
    c.children.map(
      (child) =>
        new Promise<void>((ok) => {
          if (child.exitCode !== null || child.signalCode !== null) return ok();
          const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
          child.once('exit', () => ok(clearTimeout(kill)));
          child.send({ stop: true });
        }),
    ),
  );
}

// ------------------------------------------------------------------ the fleet

interface SimAgent {
  readonly name: string;
  readonly replica: number;
  credential: string;
  etag?: string;
}

/** process.memoryUsage() of a controller, bytes. */
interface ControllerMemory {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

interface RssSample {
  readonly t: number;
  readonly phase: string;
  readonly hosts: number;
  readonly rss: number;
}

async function fleet(
  hosts: number,
  o: {
    connections: number;
    timeScale: number;
    replicas: number;
    postgres: boolean;
    nginx: boolean;
    onboardOnly: boolean;
    killLeader: boolean;
    cpuProf?: string;
    pollSeconds?: number;
    /** Agents only to the followers: the leader does its own work alone (what it costs per host). */
    followersOnly: boolean;
  },
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-fleet-'));
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'manifests'), { recursive: true });
  await mkdir(join(dir, 'plans'), { recursive: true, mode: 0o755 });
  await writeFile(join(dir, 'manifests', 'groups.yaml'), manifests());
  const postgresUrl = process.env['FERRY_TEST_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = o.postgres ? `ferry_fleet_${randomBytes(5).toString('hex')}` : undefined;
  // The controllers' connections name the run, so the bench can tell their backends' CPU.
  const db = o.postgres ? `${postgresUrl}${postgresUrl.includes('?') ? '&' : '?'}application_name=${schema}` : `sqlite:${join(dir, 'ferry.db')}`;
  const backends = o.postgres ? postgresBackends(postgresUrl, schema!) : undefined;
  pin(process.pid, 1);
  const c = await startControllers(dir, o.replicas, db, schema, o.cpuProf);
  const label = `${hosts.toLocaleString('en')} hosts, ${o.postgres ? `PostgreSQL, ${o.replicas} controller${o.replicas > 1 ? 's' : ''}` : 'SQLite'}`;
  console.log(`\n-- ${label}`);
  const started = performance.now();
  const rssSamples: RssSample[] = [];
  let phase = 'onboard';
  let done = 0;
  const sampler = setInterval(() => {
    rssSamples.push({ t: (performance.now() - started) / 1000, phase, hosts: done, rss: c.usage().rss });
    void backends?.sample().catch(() => undefined);
  }, 1000);
  let nginx: ChildProcess | undefined;
  try {
    const admin = new Agent({ keepAlive: true, maxSockets: 4 });
    const port0 = c.ready[0]!.port;
    const tokenReply = await sendJson(admin, port0, 'POST', '/v1/tokens', c.ready[0]!.adminToken, { ttl: '1d' });
    if (tokenReply.status !== 201 && tokenReply.status !== 200) throw new Error(`POST /v1/tokens: ${tokenReply.status} ${tokenReply.body}`);
    const token = (JSON.parse(tokenReply.body) as { token: string }).token;
    let leader = o.replicas > 1 ? await leaderOf(c) : 0;
    for (let tries = 0; o.followersOnly && leader === undefined; tries++) {
      if (tries === 100) throw new Error('--agents followers: no replica leads after 10 s');
      await new Promise((ok) => setTimeout(ok, 100));
      leader = await leaderOf(c);
    }
    const serving = c.ready.map((_, r) => r).filter((r) => !o.followersOnly || r !== leader);
    const agents: SimAgent[] = Array.from({ length: hosts }, (_, i) => ({ name: hostName(i), replica: serving[i % serving.length]!, credential: '' }));
    const portOf = (a: SimAgent) => c.ready[a.replica]!.port;

    // 1. onboarding ----------------------------------------------------------------------------
    const decile = Math.max(1, Math.ceil(hosts / 10));
    const decileRates: number[] = [];
    const decileCpu: number[] = [];
    let decileFrom = performance.now();
    let decileCpuFrom = c.usage().cpuS;
    let decileCpuEachFrom = c.cpuEach();
    const planWaits: number[] = [];
    /** The same waits by the replica the host talks to. */
    const planWaitsOf: number[][] = Array.from({ length: o.replicas }, () => []);
    const planWaiting: Promise<void>[] = [];
    let failures = 0;
    let next = 0;
    const cpu0 = c.usage().cpuS;
    const cpuEach0 = c.cpuEach();
    await backends?.sample();
    const pgCpu0 = backends?.cpuS() ?? 0;
    /** Requests each replica answered while onboarding (enrollments, inventories, polls for a first plan). */
    const served = { enroll: c.ready.map(() => 0), inventory: c.ready.map(() => 0), planPoll: c.ready.map(() => 0) };
    const genCpu0 = process.cpuUsage();
    const onboardStart = performance.now();
    const waitForPlan = async (a: SimAgent, from: number): Promise<void> => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (;;) {
          const r = await sendJson(agent, portOf(a), 'GET', `/v1/hosts/${a.name}/plan`, a.credential);
          served.planPoll[a.replica]!++;
          if (r.status === 200) {
            planWaits.push(performance.now() - from);
            planWaitsOf[a.replica]!.push(performance.now() - from);
            return;
          }
          if (r.status !== 404) throw new Error(`GET plan of ${a.name}: ${r.status} ${r.body}`);
          await new Promise((ok) => setTimeout(ok, 25));
        }
      } finally {
        agent.destroy();
      }
    };
    const enrollWorker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= hosts) return;
        const a = agents[i]!;
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        try {
          const facts = { os: { platform: 'linux', release: '6.1' }, arch: 'x64', cpus: 4 + (i % 4), memory: { totalBytes: 8 * 1024 ** 3 } };
          const labels = labelsOf(i);
          const enrolled = await sendJson(agent, portOf(a), 'POST', '/v1/enroll', '', { token, host: a.name, facts, labels });
          served.enroll[a.replica]!++;
          if (enrolled.status !== 201) throw new Error(`enroll ${a.name}: ${enrolled.status} ${enrolled.body}`);
          a.credential = (JSON.parse(enrolled.body) as { credential: string }).credential;
          const software = [
            { name: 'ferry-agent', version: '0.1.0', source: 'ferry' },
            { name: 'openssl', version: '3.0.13', source: 'dpkg' },
          ];
          const inv = await sendJson(agent, portOf(a), 'PUT', `/v1/hosts/${a.name}/inventory`, a.credential, { facts, labels, software });
          served.inventory[a.replica]!++;
          if (inv.status !== 200) throw new Error(`inventory ${a.name}: ${inv.status} ${inv.body}`);
          if (i % PLAN_SAMPLE_EVERY === 0) planWaiting.push(waitForPlan(a, performance.now()));
        } catch (err) {
          failures += 1;
          if (failures <= 5) console.error(String(err));
        } finally {
          agent.destroy();
        }
        done += 1;
        if (done % decile === 0 || done === hosts) {
          const t = performance.now();
          decileRates.push(Math.round(decile / ((t - decileFrom) / 1000)));
          const cpuNow = c.usage().cpuS;
          decileCpu.push(((cpuNow - decileCpuFrom) / decile) * 1e3);
          decileFrom = t;
          decileCpuFrom = cpuNow;
          const cpuEachNow = c.cpuEach();
          const perReplica = cpuEachNow.map((v, r) => (((v - decileCpuEachFrom[r]!) / decile) * 1e3).toFixed(2));
          decileCpuEachFrom = cpuEachNow;
          console.log(
            `  ${done.toLocaleString('en')} hosts at ${((t - onboardStart) / 1000).toFixed(0)} s: ${decileRates[decileRates.length - 1]} hosts/s in this 10%, controller RSS ${mib(c.usage().rss)}${o.replicas > 1 ? ` (${c.rssEach().map(mib).join(', ')}); CPU ms per host by replica ${perReplica.join(', ')}` : ''}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: o.connections }, enrollWorker));
    const onboardS = (performance.now() - onboardStart) / 1000;
    const onboardCpu = c.usage().cpuS - cpu0;
    const onboardCpuEach = c.cpuEach().map((v, r) => v - cpuEach0[r]!);
    await backends?.sample();
    const onboardPgCpu = (backends?.cpuS() ?? 0) - pgCpu0;
    const genCpu = process.cpuUsage(genCpu0);
    const genCpuS = (genCpu.user + genCpu.system) / 1e6;
    await Promise.all(planWaiting);
    planWaits.sort((a, b) => a - b);
    for (const w of planWaitsOf) w.sort((a, b) => a - b);
    const leaderAtOnboard = o.replicas > 1 ? await leaderOf(c) : 0;
    const counters = await Promise.all(
      c.children.map((child) => {
        child.send({ counters: true });
        return once(child, (m) => m['counters'] as { passes: number; hostsPlanned: number; memory: ControllerMemory } | undefined, 60_000);
      }),
    );
    const passes = counters.reduce((n, x) => n + x.passes, 0);
    const planned = counters.reduce((n, x) => n + x.hostsPlanned, 0);
    console.log(
      `  onboarding: ${onboardS.toFixed(1)} s, ${(hosts / onboardS).toFixed(0)} hosts/s overall, ${failures} failed; per 10%: ${decileRates.join(' ')} (last/first ${(decileRates[decileRates.length - 1]! / decileRates[0]!).toFixed(2)}); controller CPU ms per host per 10%: ${decileCpu.map((v) => v.toFixed(2)).join(' ')} (last/first ${(decileCpu[decileCpu.length - 1]! / decileCpu[0]!).toFixed(2)})`,
    );
    console.log(
      `  controller CPU ${onboardCpu.toFixed(1)} s (${((onboardCpu / onboardS) * 100).toFixed(0)}% of a core), ${((onboardCpu / hosts) * 1e3).toFixed(2)} ms per host, so ${(hosts / onboardCpu).toFixed(0)} hosts per CPU-second (load generator: ${genCpuS.toFixed(1)} s, ${((genCpuS / onboardS) * 100).toFixed(0)}%); reconcile ${passes} passes, ${(planned / hosts).toFixed(2)} plannings per host`,
    );
    // Where the controller's memory is, after a full GC: the V8 heap, buffers outside it, and the rest
    // (native: SQLite's page cache, the signing workers' heaps, code, malloc).
    console.log(
      `  controller memory after onboarding, after a GC: ${counters
        .map(
          ({ memory: m }) =>
            `RSS ${mib(m.rss)}, V8 heap ${mib(m.heapUsed)} used of ${mib(m.heapTotal)}, external ${mib(m.external)} (array buffers ${mib(m.arrayBuffers)}), native and code ${mib(m.rss - m.heapTotal - m.external)}`,
        )
        .join('; ')}`,
    );
    console.log(
      `  first inventory → first plan (${planWaits.length} sampled hosts): p50 ${ms(quantile(planWaits, 0.5))}, p99 ${ms(quantile(planWaits, 0.99))}, max ${ms(planWaits[planWaits.length - 1] ?? Number.NaN)} (aim p99 ≤ 2 s)${
        o.replicas > 1
          ? `; by replica: ${planWaitsOf
              .map((w, r) => (w.length === 0 ? '' : `${r === leaderAtOnboard ? 'leader' : `follower ${r}`} p50 ${ms(quantile(w, 0.5))} p99 ${ms(quantile(w, 0.99))}`))
              .filter((text) => text !== '')
              .join(', ')}`
          : ''
      }`,
    );
    if (o.postgres) {
      // Who spent what per enrolled host: each replica (the leader plans and signs every host; each serves a share of the API) and the database.
      const role = (r: number) => (r === leaderAtOnboard ? `leader (replica ${r})` : `follower (replica ${r})`);
      console.log(
        `  CPU ms per enrolled host: ${onboardCpuEach.map((s, r) => `${role(r)} ${((s / hosts) * 1e3).toFixed(2)}`).join(', ')}, PostgreSQL backends ${((onboardPgCpu / hosts) * 1e3).toFixed(2)}; total ${(((onboardCpu + onboardPgCpu) / hosts) * 1e3).toFixed(2)}. Requests answered: ${c.ready.map((_, r) => `replica ${r} ${served.enroll[r]} enroll, ${served.inventory[r]} inventory, ${served.planPoll[r]} first-plan polls`).join('; ')}`,
      );
    }

    if (o.onboardOnly) return;

    // The controller's own CPU with no request at all (timers, syncs, the reconciler's loop): the floor under the poll figures.
    phase = 'idle';
    const idle0 = c.usage().cpuS;
    await new Promise((ok) => setTimeout(ok, 10_000));
    const idlePct = ((c.usage().cpuS - idle0) / 10) * 100;

    // 2. polls at the real timing ----------------------------------------------------------------
    phase = 'poll';
    const intervalMs = (POLL_INTERVAL_S * 1000) / o.timeScale;
    const pollS = o.pollSeconds ?? (3 * intervalMs) / 1000;
    const pollAgent = new Agent({ keepAlive: true, maxSockets: 256 });
    const latencies = { 200: [] as number[], 304: [] as number[] };
    let pollErrors = 0;
    let pollsDone = 0;
    let pollsAnswered = 0;
    let repointed = 0;
    let retried = 0;
    /** An agent whose replica died polls another one from then on (as behind a load balancer); true when it moved. */
    const repoint = (a: SimAgent): boolean => {
      const alive = c.alive();
      if (alive.includes(a.replica) || alive.length === 0) return false;
      (a as { replica: number }).replica = alive[Number.parseInt(a.name.slice(5), 10) % alive.length]!;
      repointed++;
      return true;
    };
    let steadyCpu0 = 0;
    let steadyAt = 0;
    const steadyPolls = { n: 0 };
    const pollEnd = performance.now() + pollS * 1000;
    const pollOnce = async (a: SimAgent): Promise<void> => {
      const t = performance.now();
      const r = await sendPoll(pollAgent, portOf(a), a).catch((err: Error) => {
        // The agent's replica died: it polls another one at once.
        pollsDone++;
        if (!repoint(a)) throw err;
        retried++;
        return pollOnce(a);
      });
      if (r === undefined) return;
      const took = performance.now() - t;
      pollsDone++;
      if (steadyAt > 0) steadyPolls.n++;
      if (r.status === 200 || r.status === 304) pollsAnswered++;
      if (r.status === 200) {
        latencies[200].push(took);
        a.etag = r.etag;
        if (o.nginx) await writeFile(join(dir, 'plans', `${a.name}.json`), r.body);
      } else if (r.status === 304) {
        if (steadyAt > 0) latencies[304].push(took);
      } else pollErrors++;
    };
    // --kill-leader: reports keep coming (about 200/s) while the leader is killed, half-way through the polls.
    let reportsAccepted = 0;
    let reportsFailed = 0;
    const killed = { at: 0, takeoverMs: Number.NaN, replica: -1 };
    const reportAgent = new Agent({ keepAlive: true, maxSockets: 16 });
    const reporters = o.killLeader
      ? Array.from({ length: 10 }, async (_, w) => {
          for (let n = 0; performance.now() < pollEnd; n++) {
            const a = agents[Math.floor(Math.random() * hosts)]!;
            const results = [{ id: `${a.name}-k${w}-${n}`, actionId: 'dep-0/pkg-0@1.0.0/install', serial: 1, state: 'downloading', at: new Date().toISOString() }];
            const r = await sendJson(reportAgent, portOf(a), 'POST', `/v1/hosts/${a.name}/reports`, a.credential, { results }).catch(() => undefined);
            if (r?.status === 200) reportsAccepted += (JSON.parse(r.body) as { accepted: number }).accepted;
            else {
              reportsFailed++;
              repoint(a);
            }
            await new Promise((ok) => setTimeout(ok, 50));
          }
        })
      : [];
    const killing = o.killLeader
      ? (async () => {
          await new Promise((ok) => setTimeout(ok, (pollS * 1000) / 2));
          const leader = await leaderOf(c);
          if (leader === undefined) throw new Error('--kill-leader: no replica says it leads');
          const child = c.children[leader]!;
          const exited = new Promise((ok) => child.once('exit', ok));
          killed.at = performance.now();
          killed.replica = leader;
          child.kill('SIGKILL');
          await exited;
          while ((await leaderOf(c)) === undefined) await new Promise((ok) => setTimeout(ok, 50));
          killed.takeoverMs = performance.now() - killed.at;
        })()
      : undefined;
    await new Promise<void>((finished) => {
      let live = hosts;
      const schedule = (a: SimAgent, delay: number) => {
        if (performance.now() + delay > pollEnd) {
          if (--live === 0) finished();
          return;
        }
        setTimeout(() => {
          pollOnce(a)
            .catch(() => pollErrors++)
            .finally(() => schedule(a, intervalMs * (0.8 + 0.4 * Math.random())));
        }, delay);
      };
      for (const a of agents) schedule(a, Math.random() * intervalMs);
      // Steady state: from the second interval on every agent has its ETag.
      setTimeout(() => {
        steadyAt = performance.now();
        steadyCpu0 = c.usage().cpuS;
      }, intervalMs * 1.2);
    });
    const steadyS = (performance.now() - steadyAt) / 1000;
    const steadyCpu = c.usage().cpuS - steadyCpu0;
    await Promise.all([...reporters, killing]);
    pollAgent.destroy();
    reportAgent.destroy();
    for (const k of [200, 304] as const) latencies[k].sort((a, b) => a - b);
    console.log(
      `  polls every ${(intervalMs / 1000).toFixed(0)} s ±20% (60 s / ${o.timeScale}): ${pollsDone.toLocaleString('en')} in ${pollS.toFixed(0)} s, ${pollErrors} errors; steady ${(steadyPolls.n / steadyS).toFixed(0)} polls/s (304 p50 ${ms(quantile(latencies[304], 0.5))}, p99 ${ms(quantile(latencies[304], 0.99))}), first polls 200 p50 ${ms(quantile(latencies[200], 0.5))}, p99 ${ms(quantile(latencies[200], 0.99))}; controller CPU ${((steadyCpu / steadyS) * 100).toFixed(1)}% of a core, ${idlePct.toFixed(1)}% when idle (${((Math.max(0, steadyCpu - (idlePct / 100) * steadyS) / Math.max(1, steadyPolls.n)) * 1e6).toFixed(0)} µs per poll above idle)`,
    );

    if (o.killLeader) {
      console.log(
        `  kill -9 of the leader (replica ${killed.replica}) half-way: polls ${pollsAnswered.toLocaleString('en')} answered, ${pollErrors.toLocaleString('en')} not answered, ${retried.toLocaleString('en')} refused by the dead replica and answered by another at once (${repointed} agents moved); a follower led ${ms(killed.takeoverMs)} after the kill; reports meanwhile: ${reportsAccepted} results accepted, ${reportsFailed} calls failed`,
      );
    }

    // 3. the most polls, side by side with nginx ---------------------------------------------------
    phase = 'max-polls';
    const blastReplica = c.alive()[0]!;
    // At most MAX_ROTATION hosts (spread over the fleet): autocannon builds every request of the set for each connection.
    const stride = Math.max(1, Math.ceil(hosts / MAX_ROTATION));
    const withEtag = agents.filter((a, i) => a.etag !== undefined && i % stride === 0);
    const ferryUrl = `http://127.0.0.1:${c.ready[blastReplica]!.port}`;
    const ferryReqs = (etag: boolean) =>
      withEtag
        .filter((a) => a.replica === blastReplica)
        .map((a) => ({ method: 'GET', path: `/v1/hosts/${a.name}/plan`, headers: { authorization: `Bearer ${a.credential}`, ...(etag && { 'if-none-match': a.etag! }) } }));
    const blast = async (url: string, requests: Record<string, unknown>[], pids: number[]) => {
      await autocannon({ url, connections: MAX_CONNECTIONS, pipelining: MAX_PIPELINING, duration: 2, requests });
      const before = pids.reduce((n, p) => n + usage(p).cpuS, 0);
      const r = await autocannon({ url, connections: MAX_CONNECTIONS, pipelining: MAX_PIPELINING, duration: BLAST_SECONDS, requests });
      const cpu = pids.reduce((n, p) => n + usage(p).cpuS, 0) - before;
      const total = Object.values(r.statusCodeStats).reduce((n, v) => n + v.count, 0);
      return { r, cpuPct: (cpu / BLAST_SECONDS) * 100, cpuUs: (cpu / Math.max(1, total)) * 1e6 };
    };
    const line = (x: { r: AutocannonResult; cpuPct: number; cpuUs: number }) =>
      `${Math.round(x.r.requests.average).toLocaleString('en')} req/s, p50 ${x.r.latency.p50} ms, p99 ${x.r.latency.p99} ms, CPU ${x.cpuPct.toFixed(0)}% (${x.cpuUs.toFixed(0)} µs/req)${x.r.errors ? `, ${x.r.errors} errors` : ''}${Object.keys(x.r.statusCodeStats).length > 1 ? ` ${JSON.stringify(x.r.statusCodeStats)}` : ''}`;
    const f304 = await blast(ferryUrl, ferryReqs(true), [c.ready[blastReplica]!.pid]);
    const f200 = await blast(ferryUrl, ferryReqs(false), [c.ready[blastReplica]!.pid]);
    const bin = o.nginx ? ensureNginx() : undefined;
    if (bin) {
      const ref = await startNginx(bin, dir, {
        httpLines: ['etag on;', 'keepalive_requests 1000000;', 'default_type application/json;'],
        serverLines: [`root ${dir};`, 'location ~ ^/v1/hosts/([^/]+)/plan$ { try_files /plans/$1.json =404; }'],
      });
      nginx = ref.process;
      pin(nginx.pid!, 0);
      const nginxReqs = async (etag: boolean) =>
        Promise.all(
          withEtag
            .filter((a) => a.replica === blastReplica)
            .map(async (a) => {
              const s = await stat(join(dir, 'plans', `${a.name}.json`));
              const tag = `"${Math.floor(s.mtimeMs / 1000).toString(16)}-${s.size.toString(16)}"`;
              return { method: 'GET', path: `/v1/hosts/${a.name}/plan`, headers: { authorization: `Bearer ${a.credential}`, ...(etag && { 'if-none-match': tag }) } };
            }),
        );
      const nginxUrl = `http://127.0.0.1:${ref.port}`;
      const n304 = await blast(nginxUrl, await nginxReqs(true), [nginx.pid!]);
      const n200 = await blast(nginxUrl, await nginxReqs(false), [nginx.pid!]);
      console.log(
        `  most 304 polls: ferry ${line(f304)} | nginx ${line(n304)} | ratio ${(f304.r.requests.average / n304.r.requests.average).toFixed(2)}× (aim ≥ 0.8×), CPU per request ${(n304.cpuUs / f304.cpuUs).toFixed(2)}× nginx's efficiency`,
      );
      console.log(
        `  most 200 polls: ferry ${line(f200)} | nginx ${line(n200)} | ratio ${(f200.r.requests.average / n200.r.requests.average).toFixed(2)}× (aim ≥ 0.5×), CPU per request ${(n200.cpuUs / f200.cpuUs).toFixed(2)}× nginx's efficiency`,
      );
      nginx.kill('SIGTERM');
      nginx = undefined;
    } else {
      console.log(`  most 304 polls: ferry ${line(f304)}; most 200 polls: ferry ${line(f200)} (no nginx)`);
    }

    // 4. ingestion -----------------------------------------------------------------------------------
    phase = 'ingest';
    const ingestAgent = new Agent({ keepAlive: true, maxSockets: MAX_CONNECTIONS });
    const ingestCalls = Math.min(hosts, MAX_INGEST_CALLS);
    for (const a of agents) repoint(a);
    const ingestLat: number[] = [];
    let accepted = 0;
    let nextHost = 0;
    const ingestCpu0 = c.usage().cpuS;
    const ingestStart = performance.now();
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: MAX_CONNECTIONS }, async () => {
        for (;;) {
          const i = nextHost++;
          if (i >= ingestCalls) return;
          const a = agents[i]!;
          const results = Array.from({ length: RESULTS_PER_REPORT }, (_, k) => ({
            id: `${a.name}-r${k}`,
            actionId: `dep-${k % 5}/pkg-${k % 5}@1.0.${Math.floor(k / 5)}/install`,
            serial: 1,
            state: (['pending', 'downloading', 'downloaded', 'installing', 'installed'] as const)[Math.floor(k / 5) % 5],
            at: new Date(t0 + k * 1000).toISOString(),
          }));
          const t = performance.now();
          const r = await sendJson(ingestAgent, portOf(a), 'POST', `/v1/hosts/${a.name}/reports`, a.credential, { results });
          ingestLat.push(performance.now() - t);
          if (r.status === 200) accepted += (JSON.parse(r.body) as { accepted: number }).accepted;
        }
      }),
    );
    const ingestS = (performance.now() - ingestStart) / 1000;
    const ingestCpu = c.usage().cpuS - ingestCpu0;
    ingestAgent.destroy();
    ingestLat.sort((a, b) => a - b);
    console.log(
      `  ingest: ${Math.round(accepted / ingestS).toLocaleString('en')} results/s (${accepted.toLocaleString('en')} of ${(ingestCalls * RESULTS_PER_REPORT).toLocaleString('en')} accepted in ${ingestS.toFixed(1)} s, ${MAX_CONNECTIONS} connections × ${RESULTS_PER_REPORT} results), p50 ${ms(quantile(ingestLat, 0.5))}, p99 ${ms(quantile(ingestLat, 0.99))}; controller CPU ${ingestCpu.toFixed(1)} s (aim ≥ 20,000/s, p99 ≤ 100 ms)`,
    );

    clearInterval(sampler);
    const every = Math.max(1, Math.ceil(rssSamples.length / 14));
    const rssLine = rssSamples
      .filter((_, k) => k % every === 0 || k === rssSamples.length - 1)
      .map((s) => `${s.t.toFixed(0)}s ${s.phase}${s.phase === 'onboard' ? ` ${(s.hosts / 1000).toFixed(0)}k` : ''}: ${mib(s.rss)}`);
    console.log(
      `  controller RSS over time: ${rssLine.join(', ')}; peak ${mib(Math.max(...rssSamples.map((s) => s.rss)))}${o.replicas > 1 ? `; per replica now: ${c.rssEach().map(mib).join(', ')}` : ''}`,
    );
    if (schema !== undefined) {
      // Every report a replica acknowledged is in the database, the killed leader's included.
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      const stored = Number((await client.query<{ n: string }>(`select count(*) as n from ${schema}.reports`)).rows[0]!.n);
      await client.end();
      const acknowledged = accepted + reportsAccepted;
      console.log(
        `  reports in the database: ${stored.toLocaleString('en')} of ${acknowledged.toLocaleString('en')} acknowledged${stored >= acknowledged ? '' : ` — ${acknowledged - stored} LOST`}`,
      );
    }
    admin.destroy();
  } finally {
    clearInterval(sampler);
    await backends?.close().catch(() => undefined);
    nginx?.kill('SIGTERM');
    await stopControllers(c);
    if (schema !== undefined) {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/** One plan poll: the status, the ETag and (for a 200) the document. */
function sendPoll(agent: Agent, port: number, a: SimAgent): Promise<{ status: number; etag?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${a.credential}` };
    if (a.etag !== undefined) headers['if-none-match'] = a.etag;
    const r = request({ host: '127.0.0.1', port, path: `/v1/hosts/${a.name}/plan`, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(typeof res.headers.etag === 'string' && { etag: res.headers.etag }), body }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

export async function run(): Promise<void> {
  const sizes = (flag('hosts') ?? process.env['FERRY_BENCH_HOSTS'] ?? '10000').split(',').map(Number);
  const postgres = flag('db') === 'postgres';
  if (process.argv.includes('--kill-leader') && (!postgres || Number(flag('replicas') ?? 1) < 2)) throw new Error('--kill-leader needs --db postgres and --replicas 2 or more');
  const agentsTo = flag('agents') ?? 'all';
  if (agentsTo !== 'all' && agentsTo !== 'followers') throw new Error(`--agents: expected all or followers, got ${agentsTo}`);
  if (agentsTo === 'followers' && (!postgres || Number(flag('replicas') ?? 1) < 2)) throw new Error('--agents followers needs --db postgres and --replicas 2 or more');
  for (const n of sizes) {
    await fleet(n, {
      connections: Number(flag('connections') ?? 96),
      timeScale: Number(flag('time-scale') ?? 1),
      replicas: Number(flag('replicas') ?? 1),
      postgres,
      nginx: !process.argv.includes('--no-nginx'),
      onboardOnly: process.argv.includes('--onboard-only'),
      killLeader: process.argv.includes('--kill-leader'),
      followersOnly: agentsTo === 'followers',
      ...(flag('cpu-prof') !== undefined && { cpuProf: flag('cpu-prof')! }),
      ...(flag('poll-seconds') !== undefined && { pollSeconds: Number(flag('poll-seconds')) }),
    });
  }
}

const childConfig = process.env['FERRY_BENCH_FLEET_CHILD'];
if (childConfig !== undefined && process.send !== undefined) await controllerChild(JSON.parse(childConfig) as { dir: string; data: string; db: string; schema?: string });
