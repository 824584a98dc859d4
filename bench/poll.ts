/**
 * `npm run bench -- poll [--hosts 10000] [--runs 3] [--seconds 10] [--cpu-prof DIR]` (issue 14):
 * the plan-poll hot path alone. N hosts enrolled with signed plans (3 actions each) in SQLite, the
 * controller's API (`createApi`, served as `controller.ts` serves it: `api.createServer()`, polls
 * answered by the poll front) in a child process; autocannon (50 connections, each rotating over
 * its own share of the hosts) polls with `If-None-Match` (304) and without (200), against the
 * controller, against nginx serving the same signed documents as files with its ETags (one
 * worker), and against a bare `node:http` server that only checks one header (the floor of
 * node:http, which the poll front answers below). Every server is pinned to core 0, this process (the load generator) to
 * core 1; each line gives req/s, p99 and the server's CPU µs per request (and its kernel share) from
 * /proc, and the ratio to nginx in the same run; then each server's CPU µs per request for 50,000
 * requests pipelined on one connection (no load generator to wait for: CPU per request alone). `--rate R` holds every line to R req/s (the CPU per
 * request at equal load). `--cpu-prof DIR` profiles the controller's measured seconds (V8 profiler,
 * one file per line in DIR), then a back-to-back line of the controller and of the bare server each,
 * and prints their self time by function.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer, request, Agent } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector';
import { benchApiDeps } from './support/api.js';
import { seedSignedFleet } from './support/seed.js';
import { autocannon, flag, type AutocannonResult } from './support/load.js';
import { ensureNginx, startNginx } from './support/nginx.js';

const CONNECTIONS = 50;
/** Requests of each pipelined line. */
const PIPELINED = 50_000;

const hostName = (i: number): string => `host-${String(i).padStart(6, '0')}`;
const credentialOf = (i: number): string => createHash('sha256').update(`ferry-bench-credential-${i}`).digest('base64url');

interface ChildConfig {
  readonly kind: 'ferry' | 'bare';
  readonly dir: string;
  readonly hosts: number;
}

/** The controller's API over a store of `hosts` hosts with signed plans, served as controller.ts serves it. */
async function ferryChild(config: ChildConfig): Promise<void> {
  const { openStore } = await import('../controller/store/index.js');
  const { DirectoryContentStore } = await import('../controller/content/index.js');
  const { createApi } = await import('../controller/api/app.js');
  const store = await openStore(`sqlite:${join(config.dir, 'ferry.db')}`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await seedSignedFleet(store, config.hosts, hostName, credentialOf, privateKey);
  const api = createApi(benchApiDeps(store, new DirectoryContentStore(join(config.dir, 'content')), publicKey));
  const server = api.createServer();
  server.keepAliveTimeout = 65_000; // as controller.ts
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.send?.({ port: (server.address() as { port: number }).port });
  answerProfiler();
  process.on('message', (m: { stop?: boolean }) => {
    if (!m.stop) return;
    server.closeAllConnections();
    server.close(() => void api.close().then(() => store.close().then(() => process.exit(0))));
  });
}

/** `--cpu-prof DIR`: a child answers `profile` / `profileTo` messages with a V8 CPU profile of what ran between them (not the set-up). */
function answerProfiler(): void {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((ok, fail) => session.post(method, params, (err, result) => (err ? fail(err) : ok(result))));
  process.on('message', (m: { profile?: boolean; profileTo?: string }) => {
    if (m.profile !== undefined)
      void post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 100 }))
        .then(() => post('Profiler.start'))
        .then(() => process.send?.({ profiling: true }));
    if (m.profileTo !== undefined) {
      const to = m.profileTo;
      void post('Profiler.stop').then(async (r) => {
        await writeFile(to, JSON.stringify((r as { profile: unknown }).profile));
        process.send?.({ profiled: to });
      });
    }
  });
}

/** The floor: a bare node:http server answering 304 when `If-None-Match` is present, else a fixed 200. */
async function bareChild(): Promise<void> {
  const body = Buffer.from(JSON.stringify({ plan: 'x'.repeat(1500) }));
  const server = createServer((req, res) => {
    if (req.headers['if-none-match'] !== undefined) {
      res.writeHead(304, ['ETag', '"x"']);
      res.end();
    } else {
      res.writeHead(200, ['ETag', '"x"', 'Content-Type', 'application/json', 'Content-Length', String(body.length)]);
      res.end(body);
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.send?.({ port: (server.address() as { port: number }).port });
  answerProfiler();
  process.on('message', (m: { stop?: boolean }) => {
    if (!m.stop) return;
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

/** CPU seconds of a process in user and system mode, from /proc. */
function cpuOf(pid: number): { user: number; sys: number } {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 };
}

/** Pins a process (every thread) to one core; no-op where taskset is missing. */
function pin(pid: number, core: number): void {
  try {
    execFileSync('taskset', ['-a', '-pc', String(core), String(pid)], { stdio: 'ignore' });
  } catch {
    // not pinned: the CPU figures still hold, the ratios share cores
  }
}

async function startChild(config: ChildConfig): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: [],
    env: { ...process.env, FERRY_BENCH_POLL_CHILD: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  pin(child.pid!, 0);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the ${config.kind} server exited with ${code}`)));
    child.on('message', (m: { port?: number }) => m.port !== undefined && resolve(m.port));
  });
  return { child, port };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((ok) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => ok(clearTimeout(kill)));
    child.send({ stop: true });
  });
}

interface Measured {
  readonly r: AutocannonResult;
  /** Server CPU µs per answered request. */
  readonly cpuUs: number;
  /** Of which in the kernel. */
  readonly sysUs: number;
  readonly cpuPct: number;
}

/** One child's answer to a message. */
function reply(child: ChildProcess, key: string): Promise<unknown> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>) => {
      if (m[key] === undefined) return;
      child.off('message', on);
      resolve(m[key]);
    };
    child.on('message', on);
  });
}

/**
 * Two seconds of warm-up, then `seconds` measured; `profileTo`: the ferry child profiles the measured
 * part into that file. The server's CPU % is its CPU over the call divided by `seconds`: autocannon
 * builds every connection's requests before its clock starts, while the server waits.
 */
async function blast(url: string, requests: readonly Record<string, unknown>[], server: ChildProcess, seconds: number, profileTo?: string): Promise<Measured> {
  const rate = flag('rate');
  // Each connection rotates over its own share of the hosts (every host in one share): autocannon
  // would otherwise build every request for every connection, 5,000,000 at 100,000 hosts.
  const shares = Array.from({ length: CONNECTIONS }, (_, j) => requests.filter((_, i) => i % CONNECTIONS === j));
  let clients = 0;
  const setupClient = (client: { setRequests(r: readonly Record<string, unknown>[]): void }) => client.setRequests(shares[clients++ % CONNECTIONS]!);
  const load = { url, connections: CONNECTIONS, requests: requests.slice(0, 1), setupClient, ...(rate !== undefined && { overallRate: Number(rate) }) };
  await autocannon({ ...load, duration: 2 });
  if (profileTo !== undefined) {
    const started = reply(server, 'profiling');
    server.send({ profile: true });
    await started;
  }
  const pid = server.pid!;
  const before = cpuOf(pid);
  const r = await autocannon({ ...load, duration: seconds });
  const after = cpuOf(pid);
  const cpu = after.user + after.sys - before.user - before.sys;
  if (profileTo !== undefined) {
    const written = reply(server, 'profiled');
    server.send({ profileTo });
    await written;
  }
  const total = Object.values(r.statusCodeStats).reduce((n, v) => n + v.count, 0);
  return { r, cpuUs: (cpu / Math.max(1, total)) * 1e6, sysUs: ((after.sys - before.sys) / Math.max(1, total)) * 1e6, cpuPct: (cpu / seconds) * 100 };
}

const line = (m: Measured): string => {
  const codes = Object.keys(m.r.statusCodeStats);
  return `${Math.round(m.r.requests.average).toLocaleString('en')} req/s p99 ${m.r.latency.p99} ms ${m.cpuUs.toFixed(1)} µs/req (sys ${m.sysUs.toFixed(1)}, CPU ${m.cpuPct.toFixed(0)}%)${m.r.errors ? ` ${m.r.errors} errors` : ''}${codes.length !== 1 ? ` ${codes.join(',')}` : ''}`;
};

/**
 * The server's CPU µs per request with the load generator out of the way: `n` requests (rotating
 * over `requests`) written at once, pipelined on one connection, the server's CPU from /proc.
 */
async function pipelined(port: number, requests: readonly { path: string; headers: Record<string, string> }[], pid: number, n: number): Promise<number> {
  const text: string[] = [];
  for (let k = 0; k < n; k++) {
    const r = requests[k % requests.length]!;
    text.push(
      `GET ${r.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(r.headers)
        .map(([h, v]) => `${h}: ${v}\r\n`)
        .join('')}\r\n`,
    );
  }
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const before = cpuOf(pid);
  await new Promise<void>((done, fail) => {
    let answered = 0;
    let tail = '';
    socket.on('error', fail);
    socket.on('data', (d: Buffer) => {
      const s = tail + d.toString('latin1');
      for (let j = s.indexOf('HTTP/1.1 '); j >= 0; j = s.indexOf('HTTP/1.1 ', j + 1)) answered++;
      tail = s.slice(-8);
      if (answered >= n) done();
    });
    socket.write(text.join(''));
  });
  const after = cpuOf(pid);
  socket.destroy();
  return ((after.user + after.sys - before.user - before.sys) / n) * 1e6;
}

/** One GET per host (8 at a time): each plan's ETag and document. */
async function fetchPlans(port: number, hosts: number): Promise<{ etag: string; body: string }[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const out: { etag: string; body: string }[] = new Array(hosts);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < hosts; i = next++) {
        out[i] = await new Promise((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: `/v1/hosts/${hostName(i)}/plan`, agent, headers: { authorization: `Bearer ${credentialOf(i)}` } }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('end', () => (res.statusCode === 200 ? resolve({ etag: String(res.headers.etag), body }) : reject(new Error(`plan of ${hostName(i)}: ${res.statusCode}`))));
          });
          req.on('error', reject);
          req.end();
        });
      }
    }),
  );
  agent.destroy();
  return out;
}

/** Self time by function of a V8 CPU profile, the top `n`, as lines. */
async function profileSummary(file: string, n: number): Promise<string[]> {
  const self = new Map<string, number>();
  let total = 0;
  {
    const p = JSON.parse(await readFile(file, 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
      startTime: number;
      endTime: number;
      samples: number[];
    };
    const perSample = (p.endTime - p.startTime) / Math.max(1, p.samples.length);
    for (const node of p.nodes) {
      const hits = node.hitCount ?? 0;
      if (hits === 0) continue;
      const { functionName, url, lineNumber } = node.callFrame;
      const where = url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^node:/, '')}:${lineNumber + 1}` : '';
      const key = `${functionName || '(anonymous)'} ${where}`.trim();
      self.set(key, (self.get(key) ?? 0) + hits * perSample);
      total += hits * perSample;
    }
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `    ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
}

export async function run(): Promise<void> {
  const hosts = Number(flag('hosts') ?? 10_000);
  const runs = Number(flag('runs') ?? 3);
  const seconds = Number(flag('seconds') ?? 10);
  const cpuProf = flag('cpu-prof');
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-poll-'));
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'plans'), { recursive: true, mode: 0o755 });
  if (cpuProf) await mkdir(cpuProf, { recursive: true });
  pin(process.pid, 1);
  const children: ChildProcess[] = [];
  let nginx: ChildProcess | undefined;
  try {
    const started = performance.now();
    const ferry = await startChild({ kind: 'ferry', dir, hosts });
    children.push(ferry.child);
    const plans = await fetchPlans(ferry.port, hosts);
    console.log(
      `${hosts.toLocaleString('en')} hosts with signed plans (${plans[0]!.body.length} bytes each) in ${((performance.now() - started) / 1000).toFixed(1)} s; ${CONNECTIONS} connections, each rotating over its share of the hosts, ${seconds} s per line`,
    );
    for (let i = 0; i < hosts; i++) await writeFile(join(dir, 'plans', `${hostName(i)}.json`), plans[i]!.body);
    const bare = await startChild({ kind: 'bare', dir, hosts });
    children.push(bare.child);
    const bin = ensureNginx();
    if (!bin) throw new Error('the poll bench compares with nginx: install nginx-light');
    const ref = await startNginx(bin, dir, {
      httpLines: ['etag on;', 'keepalive_requests 1000000;', 'keepalive_timeout 65s;', 'default_type application/json;'],
      serverLines: [`root ${dir};`, 'location ~ ^/v1/hosts/([^/]+)/plan$ { try_files /plans/$1.json =404; }'],
    });
    nginx = ref.process;
    pin(nginx.pid!, 0);

    const path = (i: number) => `/v1/hosts/${hostName(i)}/plan`;
    const auth = (i: number) => ({ authorization: `Bearer ${credentialOf(i)}` });
    const ferryReqs = (etag: boolean) => plans.map((p, i) => ({ method: 'GET', path: path(i), headers: { ...auth(i), ...(etag && { 'if-none-match': p.etag }) } }));
    const nginxTags = await Promise.all(
      plans.map(async (_p, i) => {
        const s = await stat(join(dir, 'plans', `${hostName(i)}.json`));
        return `"${Math.floor(s.mtimeMs / 1000).toString(16)}-${s.size.toString(16)}"`;
      }),
    );
    const nginxReqs = (etag: boolean) => nginxTags.map((tag, i) => ({ method: 'GET', path: path(i), headers: { ...auth(i), ...(etag && { 'if-none-match': tag }) } }));
    const url = (port: number) => `http://127.0.0.1:${port}`;

    const profiles: string[] = [];
    const ratios = { 304: [] as number[], 200: [] as number[], cpu304: [] as number[], cpu200: [] as number[], pipe304: [] as number[], pipe200: [] as number[] };
    for (let k = 1; k <= runs; k++) {
      for (const etag of [true, false]) {
        const status = etag ? 304 : 200;
        const profile = cpuProf !== undefined ? join(cpuProf, `ferry-${status}-run${k}.cpuprofile`) : undefined;
        const f = await blast(url(ferry.port), ferryReqs(etag), ferry.child, seconds, profile);
        const n = await blast(url(ref.port), nginxReqs(etag), nginx, seconds);
        const b = await blast(url(bare.port), ferryReqs(etag), bare.child, seconds);
        if (profile !== undefined) profiles.push(profile);
        const ratio = f.r.requests.average / n.r.requests.average;
        ratios[status].push(ratio);
        ratios[etag ? 'cpu304' : 'cpu200'].push(f.cpuUs);
        console.log(
          `run ${k} ${status}: ferry ${line(f)} | nginx ${line(n)} | bare node ${line(b)} | ferry/nginx ${ratio.toFixed(2)}×, ferry/bare ${(f.r.requests.average / b.r.requests.average).toFixed(2)}×`,
        );
        const p = {
          ferry: await pipelined(ferry.port, ferryReqs(etag), ferry.child.pid!, PIPELINED),
          nginx: await pipelined(ref.port, nginxReqs(etag), nginx.pid!, PIPELINED),
          bare: await pipelined(bare.port, ferryReqs(etag), bare.child.pid!, PIPELINED),
        };
        ratios[etag ? 'pipe304' : 'pipe200'].push(p.nginx / p.ferry);
        console.log(
          `run ${k} ${status} pipelined (${PIPELINED.toLocaleString('en')} on one connection), server CPU µs/req: ferry ${p.ferry.toFixed(1)} | nginx ${p.nginx.toFixed(1)} | bare node ${p.bare.toFixed(1)} | nginx/ferry ${(p.nginx / p.ferry).toFixed(2)}×, bare/ferry ${(p.bare / p.ferry).toFixed(2)}×`,
        );
      }
    }
    const summary = (xs: number[], digits: number) => {
      const s = [...xs].sort((a, b) => a - b);
      return `median ${s[Math.floor(s.length / 2)]!.toFixed(digits)} (${s[0]!.toFixed(digits)}–${s[s.length - 1]!.toFixed(digits)})`;
    };
    console.log(
      `304 ferry/nginx ${summary(ratios[304], 2)} (aim ≥ 0.8×), ferry ${summary(ratios.cpu304, 1)} µs/req; pipelined, nginx's CPU per request / ferry's ${summary(ratios.pipe304, 2)}`,
    );
    console.log(
      `200 ferry/nginx ${summary(ratios[200], 2)} (aim ≥ 0.5×), ferry ${summary(ratios.cpu200, 1)} µs/req; pipelined, nginx's CPU per request / ferry's ${summary(ratios.pipe200, 2)}`,
    );
    // The back-to-back lines once more, profiled (apart from the figures above: profiling slows them).
    if (cpuProf !== undefined)
      for (const etag of [true, false])
        for (const [name, server] of [
          ['ferry', ferry],
          ['bare', bare],
        ] as const) {
          const file = join(cpuProf, `${name}-${etag ? 304 : 200}-pipelined.cpuprofile`);
          const started = reply(server.child, 'profiling');
          server.child.send({ profile: true });
          await started;
          await pipelined(server.port, ferryReqs(etag), server.child.pid!, PIPELINED);
          const written = reply(server.child, 'profiled');
          server.child.send({ profileTo: file });
          await written;
          profiles.push(file);
        }
    for (const file of profiles) {
      console.log(`controller self time by function, ${file} (the measured seconds only; profiling slows that line):`);
      for (const l of await profileSummary(file, 30)) console.log(l);
    }
  } finally {
    nginx?.kill('SIGTERM');
    await Promise.all(children.map(stopChild));
    await rm(dir, { recursive: true, force: true });
  }
}

const childConfig = process.env['FERRY_BENCH_POLL_CHILD'];
if (childConfig !== undefined && process.send !== undefined) {
  const config = JSON.parse(childConfig) as ChildConfig;
  await (config.kind === 'ferry' ? ferryChild(config) : bareChild());
}
