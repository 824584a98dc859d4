/**
 * `npm run bench -- multicast`: 10 receivers, one 100 MiB artifact (FERRY_BENCH_MCAST_RECEIVERS,
 * FERRY_BENCH_MCAST_MIB), real UDP on a multicast group over loopback and HTTP Range repair, each
 * receiver, the sender and the unicast clients in child processes of their own. Twice: no loss,
 * then 5% of datagrams dropped at each receiver. Prints the bytes the sender put on the wire
 * against the artifact and against 10 unicast copies, the repair bytes, the time until the last
 * receiver verified the sha256, and CPU time — side by side with 10 unicast downloads of the same
 * artifact from the same HTTP server, once at loopback speed and once through a link as fast as
 * the multicast rate (FERRY_BENCH_MCAST_RATE, bytes per second, default 10 MB/s: what ten receiver processes on two cores keep up with), shared by all
 * ten copies, the way a site's network is shared.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MULTICAST_BLOCK_SIZE } from '../core/planner/sources.js';
import { systemClock } from '../lib/clock.js';
import { receiveSession } from '../lib/multicast/receiver.js';
import { repairAndVerify } from '../lib/multicast/repair.js';
import { sendSession } from '../lib/multicast/sender.js';
import type { SessionSpec } from '../lib/multicast/session.js';
import { download } from '../lib/transfer/download.js';

const RECEIVERS = Number(process.env['FERRY_BENCH_MCAST_RECEIVERS'] ?? 10);
const MIB = Number(process.env['FERRY_BENCH_MCAST_MIB'] ?? 100);
const RATE = Number(process.env['FERRY_BENCH_MCAST_RATE'] ?? 10_000_000);
const IFACE = '127.0.0.1';

interface ChildConfig {
  readonly role: 'sender' | 'receiver' | 'unicast';
  readonly session: SessionSpec;
  readonly file: string;
  readonly url: string;
  readonly dir: string;
  readonly dropRate?: number;
}

type Cpu = { readonly user: number; readonly system: number };
const cpuS = (c: Cpu) => (c.user + c.system) / 1e6;

/** What a child does; it reports with process.send and exits. */
async function child(c: ChildConfig): Promise<void> {
  const send = (m: object) => process.send!(m);
  if (c.role === 'sender') {
    let finished = false;
    process.on('message', (m: { finished?: boolean }) => (finished ||= m.finished === true));
    const result = await sendSession({
      ...c.session,
      interface: IFACE,
      file: c.file,
      rate: RATE,
      rounds: 3,
      finished: () => finished,
      lingerMs: 3000,
      clock: systemClock,
    });
    send({ result, cpu: process.cpuUsage() });
  } else if (c.role === 'receiver') {
    const partPath = join(c.dir, 'artifact.mpart');
    const received = await receiveSession({
      session: c.session,
      interface: IFACE,
      partPath,
      idleMs: 3000,
      firstWaitMs: 60_000,
      onJoined: () => send({ joined: true }),
      ...(c.dropRate ? { dropRate: c.dropRate } : {}),
      clock: systemClock,
    });
    send({ received: true });
    const repaired = await repairAndVerify({ session: c.session, partPath, dest: join(c.dir, 'artifact'), sources: [{ name: 'relay', url: c.url }], clock: systemClock });
    send({ result: { reason: received.reason, dropped: received.dropped, ...repaired }, cpu: process.cpuUsage() });
  } else {
    await new Promise((r) => process.once('message', r));
    const r = await download({
      sources: [{ name: 'relay', url: c.url }],
      sha256: c.session.sha256,
      size: c.session.size,
      dest: join(c.dir, 'artifact-unicast'),
      clock: systemClock,
    });
    send({ result: { ok: r.ok, bytesFetched: r.bytesFetched }, cpu: process.cpuUsage() });
  }
  process.exit(0);
}

/** The content server: `GET /` with one Range, counting body bytes; optionally paced to `rate` bytes per second for all responses together. */
interface Server {
  readonly url: string;
  bytes(): number;
  /** Requests and TCP connections so far. */
  requests(): number;
  connections(): number;
  pace(rate: number | undefined): void;
  close(): Promise<void>;
}

async function contentServer(file: string, size: number): Promise<Server> {
  let served = 0;
  let requests = 0;
  let connections = 0;
  let rate: number | undefined;
  let budgetAt = 0; // the time the link is busy until (ms)
  const server = http.createServer((req, res) => {
    requests++;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] !== '' ? Math.min(Number(m[2]), size - 1) : size - 1;
    res.writeHead(m ? 206 : 200, { 'content-length': end - start + 1, ...(m ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}) });
    void (async () => {
      for await (const chunk of createReadStream(file, { start, end, highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
        served += chunk.length;
        if (rate !== undefined) {
          // One link for every response: each chunk waits for its turn on it.
          const now = performance.now();
          budgetAt = Math.max(budgetAt, now) + (chunk.length / rate) * 1000;
          if (budgetAt - now > 1) await new Promise((r) => setTimeout(r, budgetAt - now));
        }
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      }
      res.end();
    })().catch(() => res.destroy());
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    bytes: () => served,
    requests: () => requests,
    connections: () => connections,
    pace: (r) => {
      rate = r;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function start(config: ChildConfig, onMessage: (m: Record<string, unknown>) => void): { proc: ChildProcess; done: Promise<{ result: Record<string, unknown>; cpu: Cpu }> } {
  const proc = fork(fileURLToPath(import.meta.url), [], {
    execArgv: [],
    env: { ...process.env, FERRY_BENCH_MCAST_CHILD: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const done = new Promise<{ result: Record<string, unknown>; cpu: Cpu }>((resolve, reject) => {
    proc.on('message', (m: Record<string, unknown>) => {
      onMessage(m);
      if (m['result']) resolve(m as { result: Record<string, unknown>; cpu: Cpu });
    });
    proc.once('exit', (code) => code !== 0 && reject(new Error(`a ${config.role} child exited with ${code}`)));
  });
  return { proc, done };
}

const fmt = (n: number) => (n / 1024 ** 2).toFixed(1);

async function multicastRun(work: string, file: string, session: SessionSpec, url: string, dropRate: number, server: Server): Promise<void> {
  const servedBefore = server.bytes();
  const requestsBefore = server.requests();
  const connectionsBefore = server.connections();
  let joined = 0;
  let received = 0;
  let allJoined!: () => void;
  const ready = new Promise<void>((r) => (allJoined = r));
  let sender: ReturnType<typeof start> | undefined;
  const receivers = Array.from({ length: RECEIVERS }, (_, i) =>
    start({ role: 'receiver', session, file, url, dir: join(work, `r${dropRate}-${i}`), ...(dropRate ? { dropRate } : {}) }, (m) => {
      if (m['joined'] && ++joined === RECEIVERS) allJoined();
      if (m['received'] && ++received === RECEIVERS) sender?.proc.send({ finished: true });
    }),
  );
  await ready;
  const t0 = performance.now();
  sender = start({ role: 'sender', session, file, url, dir: work }, () => undefined);
  const results = await Promise.all(receivers.map((r) => r.done));
  const seconds = (performance.now() - t0) / 1000;
  const sent = await sender.done;
  const bad = results.filter((r) => r.result['kind'] !== 'verified');
  if (bad.length > 0) throw new Error(`${bad.length} receiver(s) did not verify: ${JSON.stringify(bad[0]!.result)}`);
  const repair = server.bytes() - servedBefore;
  const s = sent.result as { bytesSent: number; rounds: number };
  const size = session.size;
  console.log(`multicast, ${(dropRate * 100).toFixed(0)}% datagrams dropped at each receiver:`);
  console.log(
    `  sender on the wire: ${fmt(s.bytesSent)} MiB = ${(s.bytesSent / size).toFixed(3)}× the artifact (goal ≤ 1.2×), ${((s.bytesSent / (RECEIVERS * size)) * 100).toFixed(1)}% of ${RECEIVERS} unicast copies; ${s.rounds} round(s)`,
  );
  console.log(`  repair by HTTP Range: ${fmt(repair)} MiB in all = ${((repair / (RECEIVERS * size)) * 100).toFixed(2)}% per receiver (goal ≈ the loss rate)`);
  const requests = server.requests() - requestsBefore;
  const connections = server.connections() - connectionsBefore;
  console.log(`  repair requests: ${requests} (${(requests / RECEIVERS).toFixed(0)} per receiver) on ${connections} connection(s)`);
  console.log(`  last receiver verified after ${seconds.toFixed(2)} s`);
  console.log(`  CPU: sender ${cpuS(sent.cpu).toFixed(2)} s, receivers ${results.reduce((n, r) => n + cpuS(r.cpu), 0).toFixed(2)} s in all (receive, write, repair, sha256)`);
}

async function unicastRun(work: string, file: string, session: SessionSpec, url: string, label: string, server: Server): Promise<number> {
  const servedBefore = server.bytes();
  const clients = Array.from({ length: RECEIVERS }, (_, i) => start({ role: 'unicast', session, file, url, dir: join(work, `u-${label}-${i}`) }, () => undefined));
  await new Promise((r) => setTimeout(r, 500)); // the children start up
  const t0 = performance.now();
  for (const c of clients) c.proc.send({ go: true });
  const results = await Promise.all(clients.map((c) => c.done));
  const seconds = (performance.now() - t0) / 1000;
  if (results.some((r) => r.result['ok'] !== true)) throw new Error('a unicast download failed');
  const served = server.bytes() - servedBefore;
  console.log(`unicast, ${RECEIVERS} copies ${label}: ${fmt(served)} MiB served (${(served / session.size).toFixed(2)}×), last verified after ${seconds.toFixed(2)} s`);
  console.log(`  CPU: clients ${results.reduce((n, r) => n + cpuS(r.cpu), 0).toFixed(2)} s in all (download, sha256)`);
  return seconds;
}

export async function run(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'ferry-bench-mcast-'));
  const file = join(work, 'artifact.bin');
  const content = randomBytes(MIB * 1024 * 1024);
  await writeFile(file, content);
  const size = (await stat(file)).size;
  const session: SessionSpec = {
    group: '239.255.73.1',
    port: 47_000 + (process.pid % 1000),
    sha256: createHash('sha256').update(content).digest('hex'),
    size,
    blockSize: MULTICAST_BLOCK_SIZE,
  };
  const server = await contentServer(file, size);
  const parentCpu0 = process.cpuUsage();
  try {
    console.log(
      `${RECEIVERS} receivers × one ${MIB} MiB artifact; multicast at ${(RATE / 1e6).toFixed(0)} MB/s (${((RATE * 8) / 1e6).toFixed(0)} Mbit/s), blocks of ${MULTICAST_BLOCK_SIZE} bytes, loopback`,
    );
    server.pace(RATE);
    await multicastRun(work, file, session, server.url, 0, server);
    await multicastRun(work, file, { ...session, port: session.port + 1 }, server.url, 0.05, server);
    await unicastRun(work, file, session, server.url, `through a shared ${(RATE / 1e6).toFixed(0)} MB/s link`, server);
    server.pace(undefined);
    await unicastRun(work, file, session, server.url, 'at loopback speed (no link limit)', server);
    console.log(`content server CPU (repair and unicast together): ${cpuS(process.cpuUsage(parentCpu0)).toFixed(2)} s`);
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

const childConfig = process.env['FERRY_BENCH_MCAST_CHILD'];
if (childConfig !== undefined && process.send !== undefined) await child(JSON.parse(childConfig) as ChildConfig);
