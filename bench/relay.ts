/**
 * `npm run bench -- relay`: 50 hosts behind one relay fetch one artifact (200 MiB; set
 * FERRY_BENCH_RELAY_MIB / FERRY_BENCH_RELAY_HOSTS to change) at once. Prints the bytes the
 * controller sent (goal: 1.0× the artifact), the relay's throughput cold (the one upstream
 * transfer under way, hosts served from the partial file) and warm (from its cache), side by
 * side with nginx serving the same file from disk in the same run (goal ≥ 0.8× nginx), the
 * relay's RSS, and each side's CPU time (relay, upstream, nginx, and the clients'). The
 * controller API (the upstream) and the relay each run in a child process of their own, as they
 * run on other machines in a deployment; the clients run here, competing for the same cores with
 * the relay and nginx alike. FERRY_BENCH_RELAY_PROF=DIR writes a CPU profile of the relay
 * process to DIR.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchApiDeps } from './support/api.js';
import { ensureNginx, startNginx } from './support/nginx.js';

const HOSTS = Number(process.env['FERRY_BENCH_RELAY_HOSTS'] ?? 50);
const MIB = Number(process.env['FERRY_BENCH_RELAY_MIB'] ?? 200);
const credentialOf = (i: number): string => createHash('sha256').update(`ferry-bench-relay-${i}`).digest('base64url');

/** The relay, in a child process of its own. */
async function relayChild(dir: string, upstream: string): Promise<void> {
  const { RelayServer } = await import('../agent/relay/relay-server.js');
  const { MemorySink } = await import('../agent/log/events.js');
  const relay = await RelayServer.start({ upstream, dataDir: dir, cacheBytes: 4 * MIB * 1024 * 1024, host: '127.0.0.1', port: 0, events: new MemorySink() });
  process.send?.({ url: relay.url });
  process.on('message', (m: { stats?: boolean; stop?: boolean }) => {
    if (m.stats) process.send?.({ rss: process.memoryUsage().rss, cpu: process.cpuUsage() });
    if (m.stop) void relay.close().then(() => process.exit(0));
  });
}

/** The controller API over the SQLite store and content directory the parent prepared in `dir`, counting the content bytes it sends. */
async function upstreamChild(dir: string): Promise<void> {
  const { openStore } = await import('../controller/store/index.js');
  const { DirectoryContentStore } = await import('../controller/content/index.js');
  const { createApi } = await import('../controller/api/app.js');
  const store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
  const api = createApi(benchApiDeps(store, new DirectoryContentStore(join(dir, 'content'))));
  let upstreamBytes = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/v1/content/')) {
      const write = res.write.bind(res);
      res.write = ((chunk: Buffer | string, ...rest: never[]) => {
        upstreamBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        return write(chunk, ...rest);
      }) as typeof res.write;
    }
    api.listener(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  process.on('message', (m: { stats?: boolean; stop?: boolean }) => {
    if (m.stats) process.send?.({ upstreamBytes, cpu: process.cpuUsage() });
    if (m.stop) {
      server.closeAllConnections();
      server.close(() => void store.close().then(() => process.exit(0)));
    }
  });
}

const stopChild = async (child: ChildProcess | undefined): Promise<void> => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.send({ stop: true });
  await exited;
};

function ask<T>(child: ChildProcess, message: object, pick: (m: Record<string, unknown>) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      const v = pick(m);
      if (v === undefined) return;
      child.off('message', onMessage);
      resolve(v);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`the relay exited with ${code}`)));
    if (Object.keys(message).length > 0) child.send(message);
  });
}

/** CPU seconds (user + system) a process used so far, from /proc (nginx). */
async function procCpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * GETs `url` with each credential at once; resolves with the seconds until the last byte, the
 * bytes read and the CPU seconds the clients (this process) used meanwhile.
 */
async function fetchAll(url: string, headers: (i: number) => Record<string, string>): Promise<{ seconds: number; bytes: number; clientCpu: number }> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: HOSTS });
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const sizes = await Promise.all(
    Array.from(
      { length: HOSTS },
      (_, i) =>
        new Promise<number>((resolve, reject) => {
          http
            .get(url, { agent, headers: headers(i) }, (res) => {
              if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`));
              let n = 0;
              res.on('data', (c: Buffer) => (n += c.length));
              res.on('end', () => resolve(n));
              res.on('error', reject);
            })
            .on('error', reject);
        }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  agent.destroy();
  return { seconds, bytes: sizes.reduce((a, b) => a + b, 0), clientCpu: (cpu.user + cpu.system) / 1e6 };
}

export async function run(): Promise<void> {
  const { openStore } = await import('../controller/store/index.js');
  const { DirectoryContentStore } = await import('../controller/content/index.js');
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-relay-'));
  let relay: ChildProcess | undefined;
  let upstreamProcess: ChildProcess | undefined;
  let nginx: ChildProcess | undefined;
  try {
    // The controller API over SQLite, its content store holding the artifact; a wrapper counts content bytes sent.
    const store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
    const now = new Date();
    for (let i = 0; i < HOSTS; i++) {
      await store.enrollHost({ host: `host-${i}`, credentialHash: createHash('sha256').update(credentialOf(i)).digest('hex'), facts: {}, labels: {}, now });
    }
    const artifact = join(dir, 'static', 'artifact');
    await mkdir(join(dir, 'static'), { recursive: true });
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    for (let i = 0; i < MIB; i++) {
      const c = randomBytes(1024 * 1024);
      hash.update(c);
      chunks.push(c);
    }
    await writeFile(artifact, Buffer.concat(chunks));
    chunks.length = 0;
    const sha256 = hash.digest('hex');
    const size = MIB * 1024 * 1024;
    const content = new DirectoryContentStore(join(dir, 'content'));
    const put = await content.put(createReadStream(artifact), sha256, { expectedSize: size });
    if (!put.ok) throw new Error('could not store the artifact');
    await rename(artifact, join(dir, 'static', sha256));
    await store.close();
    upstreamProcess = fork(fileURLToPath(import.meta.url), [], {
      execArgv: [],
      env: { ...process.env, FERRY_BENCH_RELAY_UPSTREAM_CHILD: dir },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const upstream = await ask(upstreamProcess, {}, (m) => m['url'] as string | undefined);

    // FERRY_BENCH_RELAY_PROF=DIR: a CPU profile of the relay process (node --cpu-prof) in DIR.
    const prof = process.env['FERRY_BENCH_RELAY_PROF'];
    relay = fork(fileURLToPath(import.meta.url), [], {
      execArgv: prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [],
      env: { ...process.env, FERRY_BENCH_RELAY_CHILD: join(dir, 'relay'), FERRY_BENCH_RELAY_UPSTREAM: upstream },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const relayUrl = await ask(relay, {}, (m) => m['url'] as string | undefined);
    const auth = (i: number) => ({ authorization: `Bearer ${credentialOf(i)}` });
    const stats = () => ask(relay!, { stats: true }, (m) => (m['rss'] !== undefined ? (m as { rss: number; cpu: NodeJS.CpuUsage }) : undefined));
    const cpuS = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;
    const gbps = (r: { seconds: number; bytes: number }) => r.bytes / r.seconds / 1024 ** 3;

    console.log(`${HOSTS} hosts × one ${MIB} MiB artifact (${((HOSTS * size) / 1024 ** 3).toFixed(1)} GiB to serve per run)`);
    const before = await stats();
    const cold = await fetchAll(`${relayUrl}/v1/content/${sha256}`, auth);
    const afterCold = await stats();
    const warm = await fetchAll(`${relayUrl}/v1/content/${sha256}`, auth);
    const afterWarm = await stats();
    if (cold.bytes !== HOSTS * size || warm.bytes !== HOSTS * size) throw new Error('a client got a short body');
    const up = await ask(upstreamProcess, { stats: true }, (m) => (m['upstreamBytes'] !== undefined ? (m as { upstreamBytes: number; cpu: NodeJS.CpuUsage }) : undefined));
    console.log(`upstream bytes: ${(up.upstreamBytes / size).toFixed(2)}× the artifact (goal 1.00×); upstream process CPU ${cpuS(up.cpu).toFixed(2)} s in all`);
    console.log(
      `relay cold (one upstream transfer, hosts served from the partial file): ${gbps(cold).toFixed(2)} GiB/s, ${cold.seconds.toFixed(2)} s, relay CPU ${(cpuS(afterCold.cpu) - cpuS(before.cpu)).toFixed(2)} s, clients CPU ${cold.clientCpu.toFixed(2)} s`,
    );
    console.log(
      `relay warm (from its cache): ${gbps(warm).toFixed(2)} GiB/s, ${warm.seconds.toFixed(2)} s, relay CPU ${(cpuS(afterWarm.cpu) - cpuS(afterCold.cpu)).toFixed(2)} s, clients CPU ${warm.clientCpu.toFixed(2)} s`,
    );
    console.log(`relay RSS: ${(afterWarm.rss / 1024 ** 2).toFixed(0)} MiB`);

    const bin = ensureNginx();
    if (!bin) return;
    const started = await startNginx(bin, dir, {
      serverLines: [`root ${join(dir, 'static')};`, 'location ~ "^/v1/content/([0-9a-f]{64})$" { try_files /$1 =404; }'],
    });
    nginx = started.process;
    const port = started.port;
    const nginxBefore = await procCpuSeconds(nginx.pid!);
    const ref = await fetchAll(`http://127.0.0.1:${port}/v1/content/${sha256}`, () => ({}));
    const nginxCpu = (await procCpuSeconds(nginx.pid!)) - nginxBefore;
    console.log(
      `nginx (the same file from disk, one worker): ${gbps(ref).toFixed(2)} GiB/s, ${ref.seconds.toFixed(2)} s, nginx CPU ${nginxCpu.toFixed(2)} s, clients CPU ${ref.clientCpu.toFixed(2)} s`,
    );
    console.log(`ratio relay/nginx: warm ${((gbps(warm) / gbps(ref)) * 100).toFixed(0)} %, cold ${((gbps(cold) / gbps(ref)) * 100).toFixed(0)} % (goal ≥ 80 %)`);
  } finally {
    nginx?.kill('SIGTERM');
    await stopChild(relay);
    await stopChild(upstreamProcess);
    await rm(dir, { recursive: true, force: true });
  }
}

const childDir = process.env['FERRY_BENCH_RELAY_CHILD'];
if (childDir !== undefined && process.send !== undefined) await relayChild(childDir, process.env['FERRY_BENCH_RELAY_UPSTREAM']!);
const upstreamDir = process.env['FERRY_BENCH_RELAY_UPSTREAM_CHILD'];
if (upstreamDir !== undefined && process.send !== undefined) await upstreamChild(upstreamDir);
