/**
 * `npm run bench serve`: 10,000 enrolled hosts poll their signed plans with `If-None-Match`
 * (autocannon, 50 connections, ~10 s) against the controller's API over SQLite, then the same
 * load against nginx serving the same plan documents as static files with its ETags (the
 * Munki architecture, our ceiling). Prints requests/s, p50/p99 latency, controller RSS and
 * the ratio. Both servers run as one process (nginx: one worker) on 127.0.0.1; the load
 * generator runs here, competing for the same cores with either server alike.
 * A second Ferry line reads each plan row from the store on every poll (`planCacheMs: 0`):
 * the controller's cost when its ETag map has just been dropped by a plan change.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchApiDeps } from './support/api.js';
import { seedSignedFleet } from './support/seed.js';
import { autocannon, type AutocannonResult } from './support/load.js';
import { ensureNginx, startNginx } from './support/nginx.js';

const HOSTS = Number(process.env['FERRY_BENCH_HOSTS'] ?? 10_000);
const CONNECTIONS = 50;
const DURATION_S = Number(process.env['FERRY_BENCH_SECONDS'] ?? 10);

const hostName = (i: number): string => `host-${String(i).padStart(5, '0')}`;
const credentialOf = (i: number): string => createHash('sha256').update(`ferry-bench-credential-${i}`).digest('base64url');

/** The controller side, run in a child process so the load generator does not share its CPU. */
async function serveChild(dir: string): Promise<void> {
  const { openStore } = await import('../controller/store/index.js');
  const { DirectoryContentStore } = await import('../controller/content/index.js');
  const { createApi } = await import('../controller/api/app.js');
  const store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signed = await seedSignedFleet(store, HOSTS, hostName, credentialOf, privateKey);
  // The documents as files, for nginx.
  for (const [host, doc] of signed) await writeFile(join(dir, 'plans', `${host}.json`), doc);
  const api = (planCacheMs: number) => createApi({ ...benchApiDeps(store, new DirectoryContentStore(join(dir, 'content')), publicKey), planCacheMs }).listener;
  // The controller as configured by default, and one whose every poll reads the store (no ETag map).
  const listen = (planCacheMs: number) =>
    new Promise<Server>((resolve) => {
      const server: Server = createHttpServer(api(planCacheMs)).listen(0, '127.0.0.1', () => resolve(server));
      server.keepAliveTimeout = 60_000;
    });
  const servers = [await listen(1000), await listen(0)];
  const [port, uncachedPort] = servers.map((s) => (s.address() as { port: number }).port);
  process.send?.({ port, uncachedPort });
  process.on('message', (m: { rss?: boolean; stop?: boolean }) => {
    if (m.rss) process.send?.({ rss: process.memoryUsage().rss });
    if (m.stop) {
      for (const s of servers) s.closeAllConnections();
      void Promise.all(servers.map((s) => new Promise((r) => s.close(r)))).then(() => store.close().then(() => process.exit(0)));
    }
  });
}

function once<T>(child: ChildProcess, pick: (m: Record<string, unknown>) => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the benchmark controller did not answer in time')), timeoutMs);
    const onMessage = (m: Record<string, unknown>) => {
      const v = pick(m);
      if (v !== undefined) {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(v);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`the benchmark controller exited with ${code}`)));
  });
}

/** nginx's ETag of a static file: `"<mtime hex>-<size hex>"`. */
async function nginxEtag(file: string): Promise<string> {
  const s = await stat(file);
  return `"${Math.floor(s.mtimeMs / 1000).toString(16)}-${s.size.toString(16)}"`;
}

async function load(url: string, requests: Record<string, unknown>[], title: string): Promise<AutocannonResult> {
  // Warm-up, then the measured run.
  await autocannon({ url, connections: CONNECTIONS, duration: 2, requests });
  return autocannon({ url, title, connections: CONNECTIONS, duration: DURATION_S, requests });
}

const fmt = (r: AutocannonResult): string => {
  const codes = Object.entries(r.statusCodeStats)
    .map(([c, v]) => `${c}×${v.count}`)
    .join(' ');
  return `${Math.round(r.requests.average).toLocaleString('en')} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms (${codes}${r.errors ? `, ${r.errors} errors` : ''})`;
};

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-serve-'));
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'plans'), { recursive: true, mode: 0o755 });
  const here = fileURLToPath(import.meta.url);
  const child = fork(here, [], { execArgv: [], env: { ...process.env, FERRY_BENCH_SERVE_CHILD: dir }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let nginx: ChildProcess | undefined;
  try {
    const started = Date.now();
    const { port, uncachedPort } = await once(child, (m) => (typeof m['port'] === 'number' ? (m as { port: number; uncachedPort: number }) : undefined), 300_000);
    console.log(`${HOSTS.toLocaleString('en')} hosts enrolled with signed plans in ${((Date.now() - started) / 1000).toFixed(1)} s (SQLite)`);

    const ferryUrl = `http://127.0.0.1:${port}`;
    const etags: string[] = [];
    for (let i = 0; i < HOSTS; i++) {
      const res = await fetch(`${ferryUrl}/v1/hosts/${hostName(i)}/plan`, { method: 'HEAD', headers: { authorization: `Bearer ${credentialOf(i)}` } });
      if (res.status !== 200) throw new Error(`HEAD plan of ${hostName(i)}: ${res.status}`);
      etags.push(res.headers.get('etag')!);
    }
    const ferryRequests = etags.map((etag, i) => ({
      method: 'GET',
      path: `/v1/hosts/${hostName(i)}/plan`,
      headers: { authorization: `Bearer ${credentialOf(i)}`, 'if-none-match': etag },
    }));
    const ferry = await load(ferryUrl, ferryRequests, 'ferry');
    child.send({ rss: true });
    const rss = await once(child, (m) => (typeof m['rss'] === 'number' ? (m['rss'] as number) : undefined), 10_000);
    console.log(`ferry controller: ${fmt(ferry)}, RSS ${(rss / 1024 ** 2).toFixed(0)} MiB`);
    // Every poll a store read (a credential still cached): what a fleet costs right after its plans changed.
    const uncached = await load(`http://127.0.0.1:${uncachedPort}`, ferryRequests, 'ferry-uncached');
    console.log(`ferry controller, every poll reads its plan row (planCacheMs 0): ${fmt(uncached)}`);

    const bin = ensureNginx();
    if (!bin) return;
    const reference = await startNginx(bin, dir, {
      httpLines: ['etag on;', 'keepalive_requests 1000000;', 'default_type application/json;'],
      serverLines: [`root ${dir};`, 'location ~ ^/v1/hosts/([^/]+)/plan$ { try_files /plans/$1.json =404; }'],
    });
    nginx = reference.process;
    const nginxPort = reference.port;
    const nginxRequests = await Promise.all(
      etags.map(async (_e, i) => ({
        method: 'GET',
        path: `/v1/hosts/${hostName(i)}/plan`,
        headers: { authorization: `Bearer ${credentialOf(i)}`, 'if-none-match': await nginxEtag(join(dir, 'plans', `${hostName(i)}.json`)) },
      })),
    );
    const ref = await load(`http://127.0.0.1:${nginxPort}`, nginxRequests, 'nginx');
    console.log(`nginx (static files): ${fmt(ref)}`);
    const ratio = ferry.requests.average / ref.requests.average;
    console.log(
      `ratio ferry/nginx: ${(ratio * 100).toFixed(0)} % (aim: ≥ 50 %); every poll reading the store: ${((uncached.requests.average / ref.requests.average) * 100).toFixed(0)} %`,
    );
  } finally {
    nginx?.kill('SIGTERM');
    if (child.connected) child.send({ stop: true });
    await new Promise((r) => {
      if (child.exitCode !== null) return r(undefined);
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        r(undefined);
      }, 5000);
      child.once('exit', () => {
        clearTimeout(t);
        r(undefined);
      });
    });
    await rm(dir, { recursive: true, force: true });
  }
}

const childDir = process.env['FERRY_BENCH_SERVE_CHILD'];
if (childDir !== undefined && process.send !== undefined) await serveChild(childDir);
