/**
 * `npm run bench -- download` (issue 5): the agent's downloader (sha256 verified, renamed into
 * place) against `curl -s -o FILE URL`, fetching the same 1 GiB artifact (256 MiB with
 * FERRY_BENCH_QUICK=1) from the same controller in the same run. The controller is Ferry's own
 * API (`GET /v1/content/{sha256}`, SQLite store, directory content store) in a child process.
 * Rounds alternate which of the two goes first; the figures are medians over the rounds
 * (FERRY_BENCH_ROUNDS, default 7), and the ratio is the median of the rounds' ratios.
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { download } from '../lib/transfer/download.js';
import { benchAdminToken, benchApiDeps } from './support/api.js';

/** The controller side: stores the artifact, serves the API on 127.0.0.1, reports its port. */
async function controllerChild(dir: string, file: string, sha256: string, size: number): Promise<void> {
  const { openStore } = await import('../controller/store/index.js');
  const { DirectoryContentStore } = await import('../controller/content/index.js');
  const { createApi } = await import('../controller/api/app.js');
  const store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
  const content = new DirectoryContentStore(join(dir, 'content'));
  const put = await content.put(createReadStream(file), sha256, { expectedSize: size });
  if (!put.ok) throw new Error(`the controller could not store the artifact: ${put.error}`);
  const { app } = createApi(benchApiDeps(store, content));
  const server = await new Promise<Server>((resolve) => {
    const s: Server = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  process.send?.({ port: (server.address() as { port: number }).port });
  process.on('message', () => {
    server.closeAllConnections();
    server.close(() => void store.close().then(() => process.exit(0)));
  });
}

/** Runs the benchmark and prints MB/s for the agent's downloader and curl, and their ratio. */
export async function run(): Promise<void> {
  const quick = process.env['FERRY_BENCH_QUICK'] === '1';
  const rounds = Number(process.env['FERRY_BENCH_ROUNDS'] ?? 7);
  const size = (quick ? 256 : 1024) * 1024 * 1024;
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-download-'));
  let child: ChildProcess | undefined;
  try {
    const file = join(dir, 'artifact.tar.gz');
    const sha256 = await writeArtifact(file, size);
    child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: [],
      env: { ...process.env, FERRY_BENCH_DOWNLOAD_CHILD: JSON.stringify({ dir, file, sha256, size }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child!.once('message', (m: { port: number }) => resolve(m.port));
      child!.once('exit', (code) => reject(new Error(`the benchmark controller exited with ${code}`)));
    });
    await rm(file);
    // Write the controller's copy back now, so the kernel's writeback does not run during a round.
    await exec('sync', []);
    const url = `http://127.0.0.1:${port}/v1/content/${sha256}`;
    const authorization = `Bearer ${benchAdminToken}`;
    const mb = size / 1e6;
    const agentRates: number[] = [];
    const agentCpu: number[] = [];
    const curlRates: number[] = [];
    const curlHashRates: number[] = [];
    const ratios: number[] = [];

    const curl = async (round: number) => {
      const out = join(dir, `curl-${round}.bin`);
      const t0 = performance.now();
      const code = await exec('curl', ['-s', '-f', '-H', `Authorization: ${authorization}`, '-o', out, url]);
      if (code !== 0) throw new Error(`curl exited with ${code}`);
      curlRates.push(mb / ((performance.now() - t0) / 1000));
      const sum = await exec('sha256sum', [out]);
      if (sum !== 0) throw new Error(`sha256sum exited with ${sum}`);
      curlHashRates.push(mb / ((performance.now() - t0) / 1000));
      await rm(out, { force: true });
    };
    const agent = async (round: number) => {
      const dest = join(dir, `agent-${round}.bin`);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await download({ sources: [{ name: 'controller', url, headers: { authorization } }], sha256, size, dest });
      if (!result.ok) throw new Error(`agent download failed: ${result.message}`);
      agentRates.push(mb / ((performance.now() - t0) / 1000));
      const cpu = process.cpuUsage(cpu0);
      agentCpu.push((cpu.user + cpu.system) / 1e6 / (size / 2 ** 30));
      await rm(dest, { force: true });
      await rm(`${dest}.verified`, { force: true });
    };
    for (let round = 1; round <= rounds; round++) {
      if (round % 2 === 1) {
        await curl(round);
        await agent(round);
      } else {
        await agent(round);
        await curl(round);
      }
      ratios.push(agentRates.at(-1)! / curlRates.at(-1)!);
      console.log(
        `round ${round} (${round % 2 === 1 ? 'curl' : 'agent'} first): agent ${agentRates.at(-1)!.toFixed(0)} MB/s, ` +
          `curl ${curlRates.at(-1)!.toFixed(0)} MB/s, ratio ${ratios.at(-1)!.toFixed(2)}`,
      );
    }
    console.log(`artifact: ${(size / 2 ** 20).toFixed(0)} MiB from the controller's /v1/content on 127.0.0.1, median of ${rounds} rounds`);
    console.log(`agent downloader (sha256 verified, renamed into place): ${median(agentRates).toFixed(0)} MB/s`);
    console.log(`curl -s -o FILE URL:                                    ${median(curlRates).toFixed(0)} MB/s`);
    console.log(`curl then sha256sum (also verifies):                   ${median(curlHashRates).toFixed(0)} MB/s`);
    console.log(
      `ratio agent/curl: ${median(ratios).toFixed(2)} (aim >= 0.8; rounds ${ratios.map((r) => r.toFixed(2)).join(' ')}); ` +
        `agent/(curl+sha256sum): ${(median(agentRates) / median(curlHashRates)).toFixed(2)}`,
    );
    console.log(`agent CPU, all its threads: ${median(agentCpu).toFixed(2)} core-seconds per GiB`);
  } finally {
    child?.send('stop');
    await new Promise((r) => (child && child.exitCode === null ? child.once('exit', r) : r(undefined)));
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeArtifact(file: string, size: number): Promise<string> {
  const block = randomBytes(16 * 1024 * 1024);
  const handle = await open(file, 'w');
  const hash = createHash('sha256');
  try {
    for (let written = 0; written < size; written += block.length) {
      const piece = block.subarray(0, Math.min(block.length, size - written));
      hash.update(piece);
      await handle.write(piece);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

function exec(program: string, args: readonly string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const childSpec = process.env['FERRY_BENCH_DOWNLOAD_CHILD'];
if (childSpec !== undefined && process.send !== undefined) {
  const { dir, file, sha256, size } = JSON.parse(childSpec) as { dir: string; file: string; sha256: string; size: number };
  await controllerChild(dir, file, sha256, size);
}
