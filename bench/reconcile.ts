/**
 * `npm run bench -- reconcile [--hosts 10000] [--refreshes 50]` (issue 14, the reconcile half):
 * an in-process controller (`startController`: SQLite in a temp folder, a real git repository
 * with 20 deployments over label groups) whose store is filled with N hosts through the store's
 * batch methods. Prints, each with wall time, the process's CPU time and its RSS:
 * - first reconcile: start → every plan signed and stored, and when `/readyz` first said 200;
 * - a commit changing one deployment that targets 10% of the hosts → a targeted host's poll
 *   (real HTTP, its own credential) serves the new plan;
 * - a refresh that changes nothing;
 * - RSS over `--refreshes` refreshes, each a commit that flips the same deployment back or forth;
 * - inventory churn (issue 17): `--churn-rounds` rounds of 1% of the hosts re-reporting changed facts
 *   (written through the store, then the trigger the API fires), CPU per round and per changed host;
 * - with `--rollout`, one more deployment to every host in waves (1%, 10%, 100%): `--rollout-rounds`
 *   rounds of (up to) 100 wave-1 hosts reporting their install done (written through the store, then the
 *   trigger the API fires), CPU of the passes per reporting host;
 * - the planner alone on the same snapshot and inventories (full and incremental), for comparison.
 * `--cpu-prof DIR` writes the main thread's CPU profile of the first reconcile and of the first
 * 10% change, of the second churn round and of the second rollout round to DIR (first.cpuprofile,
 * change.cpuprofile, churn.cpuprofile, rollout.cpuprofile).
 * Aims: first ≤ 15 s, 10% change ≤ 2 s, no-change ≤ 100 ms, RSS ≤ 1 GiB and flat, planner
 * alone full ≤ 2 s / incremental ≤ 200 ms CPU.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { startController, type RunningController } from '../controller/controller.js';
import { openStore } from '../controller/store/index.js';
import type { EnrollAttempt } from '../controller/store/store.js';
import { loadManifests } from '../core/manifest/index.js';
import type { Inventory } from '../core/plan/types.js';
import { planFleet, replan, type PlanningContext } from '../core/planner/index.js';
import { systemClock } from '../lib/clock.js';
import { makeGitFixture, type GitFixture } from '../test/controller/source/git-fixture.js';

const SITES = 10;
const DEPTS = 8;
const TIERS = 5;
const DEPLOYMENTS = 20;
const PACKAGES = 40;
const GiB = 1024 ** 3;
/** The deployment `--rollout` adds. */
const ROLLOUT = 'rollout-all';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 1) throw new Error(`--${name}: expected a positive number`);
  return v;
}

/** `--cpu-prof DIR`: profiles phases of the main thread into DIR/NAME.cpuprofile. */
async function profiler(): Promise<(name: string) => Promise<() => Promise<void>>> {
  const i = process.argv.indexOf('--cpu-prof');
  if (i < 0) return async () => async () => undefined;
  const dir = process.argv[i + 1];
  if (dir === undefined) throw new Error('--cpu-prof: expected a folder');
  await mkdir(dir, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  return async (name) => {
    await session.post('Profiler.start');
    return async () => {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    };
  };
}

const hostName = (i: number) => `host-${String(i).padStart(6, '0')}`;
const credentialOf = (i: number) => `bench-credential-${i}`;

export function inventoryOf(i: number): Inventory {
  return {
    host: hostName(i),
    facts: {
      os: { platform: i % 10 === 0 ? 'darwin' : 'linux' },
      arch: i % 7 === 0 ? 'arm64' : 'x64',
      cpus: 2 + (i % 8),
      memory: { total: (4 + (i % 4) * 4) * GiB },
      disk: { installRoot: { free: (5 + (i % 20)) * GiB, total: 100 * GiB } },
    },
    labels: { site: `site-${i % SITES}`, dept: `dept-${Math.floor(i / SITES) % DEPTS}`, tier: `tier-${i % TIERS}` },
    software: [{ name: 'openssl', version: '3.0.2', source: 'dpkg' }],
  };
}

/** The artifacts (small random files in the repository) and their sha256. */
export function artifacts(): Map<string, { bytes: Buffer; sha256: string }> {
  const out = new Map<string, { bytes: Buffer; sha256: string }>();
  for (let p = 0; p < PACKAGES; p++) {
    for (const v of ['1.0.0', '1.1.0']) {
      const bytes = randomBytes(64);
      out.set(`pkg-${p}-${v}`, { bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
  }
  return out;
}

/**
 * The repository's files; `flip` changes deploy-00 (site-0: 10% of hosts) to the packages' 1.1.0;
 * `rollout` adds rollout-all: pkg-0 to every host in waves.
 */
export function repositoryFiles(art: ReadonlyMap<string, { bytes: Buffer; sha256: string }>, flip: boolean, rollout = false): Record<string, string> {
  const docs: string[] = [];
  const group = (name: string, labels: string) => docs.push(`apiVersion: ferry/v1\nkind: Group\nmetadata: {name: ${name}}\nspec:\n  selector:\n    labels: {${labels}}\n`);
  for (let s = 0; s < SITES; s++) group(`site-${s}`, `site: site-${s}`);
  for (let d = 0; d < DEPTS; d++) group(`dept-${d}`, `dept: dept-${d}`);
  for (let t = 0; t < TIERS; t++) group(`tier-${t}`, `tier: tier-${t}`);
  docs.push('apiVersion: ferry/v1\nkind: Condition\nmetadata: {name: enough-disk}\nspec: {minDiskFree: 2GiB}\n');
  const packages: string[] = [];
  for (let p = 0; p < PACKAGES; p++) {
    for (const v of ['1.0.0', '1.1.0']) {
      const a = art.get(`pkg-${p}-${v}`)!;
      packages.push(
        `apiVersion: ferry/v1\nkind: Package\nmetadata: {name: pkg-${p}}\nspec:\n  version: "${v}"\n  artifact: {sha256: ${a.sha256}, size: ${a.bytes.length}, source: artifacts/pkg-${p}-${v}.bin}\n` +
          `  install: {command: [sh, install.sh]}\n  uninstall: {command: [sh, uninstall.sh]}\n${p % 3 === 0 ? '  conditions: [enough-disk]\n' : ''}`,
      );
    }
  }
  for (let d = 0; d < DEPLOYMENTS; d++) {
    // deploy-00: site-0 (10%); the others spread over sites, departments and tiers.
    const target = d === 0 ? 'site-0' : d % 3 === 0 ? `dept-${d % DEPTS}` : d % 3 === 1 ? `site-${d % SITES}` : `tier-${d % TIERS}`;
    const version = d === 0 && flip ? '1.1.0' : '1.0.0';
    const pkgs = [0, 1].map((k) => `    - {name: pkg-${(d * 2 + k) % PACKAGES}, version: "${version}", state: present}`).join('\n');
    docs.push(`apiVersion: ferry/v1\nkind: Deployment\nmetadata: {name: deploy-${String(d).padStart(2, '0')}}\nspec:\n  packages:\n${pkgs}\n  targets: {groups: [${target}]}\n`);
  }
  if (rollout) {
    const sites = Array.from({ length: SITES }, (_, k) => `site-${k}`).join(', ');
    docs.push(
      `apiVersion: ferry/v1\nkind: Deployment\nmetadata: {name: ${ROLLOUT}}\nspec:\n  packages:\n    - {name: pkg-0, version: "1.0.0", state: present}\n  targets: {groups: [${sites}]}\n  rollout: {waves: ["1%", "10%", "100%"]}\n`,
    );
  }
  const files: Record<string, string> = { 'fleet.yaml': docs.join('---\n'), 'packages.yaml': packages.join('---\n') };
  return files;
}

/** Fills the store with `n` enrolled hosts and their inventories, through the batch methods. */
async function fillStore(db: string, n: number): Promise<void> {
  const store = await openStore(db);
  try {
    const now = new Date();
    const { token } = await store.createToken({ ttlMs: 3_600_000, now });
    for (let from = 0; from < n; from += 2000) {
      const ids = Array.from({ length: Math.min(2000, n - from) }, (_, k) => from + k);
      const attempts: EnrollAttempt[] = ids.map((i) => ({
        token,
        host: hostName(i),
        credentialHash: createHash('sha256').update(credentialOf(i)).digest('hex'),
        facts: {},
        labels: {},
        now,
      }));
      await store.enrollHosts(attempts);
      await store.putInventories(ids.map((i) => ({ inventory: inventoryOf(i), now })));
    }
  } finally {
    await store.close();
  }
}

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly rssMiB: number;
}

function measure(): () => Sample {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const c = process.cpuUsage(c0);
    return { wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, rssMiB: process.memoryUsage.rss() / 1024 ** 2 };
  };
}

const ms = (x: number) => `${x.toFixed(0).padStart(7)} ms`;
/** The middle value (the upper one of an even count). */
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** One measure: wall, CPU, RSS and the verdict against its aim (on wall time, or CPU time with `onCpu`). */
const line = (name: string, s: Sample, aim: number, note = '', onCpu = false) =>
  console.log(
    `${name.padEnd(28)} ${ms(s.wallMs)}  (CPU ${ms(s.cpuMs)})  RSS ${s.rssMiB.toFixed(0).padStart(5)} MiB   aim ≤ ${aim} ms${onCpu ? ' CPU' : ''}: ${(onCpu ? s.cpuMs : s.wallMs) <= aim ? 'meets' : 'MISSES'}${note}`,
  );

/** Resolves once `check` is true, looking every `everyMs`. */
async function until(check: () => Promise<boolean> | boolean, everyMs = 5): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, everyMs));
}

async function plan(url: string, i: number): Promise<{ serial: number; revision: string; actions: { id: string }[] }> {
  // A keep-alive connection the controller dropped while its event loop was busy: try once more.
  const res = await fetch(`${url}/v1/hosts/${hostName(i)}/plan`, { headers: { authorization: `Bearer ${credentialOf(i)}` } }).catch(() =>
    fetch(`${url}/v1/hosts/${hostName(i)}/plan`, { headers: { authorization: `Bearer ${credentialOf(i)}` } }),
  );
  if (res.status !== 200) throw new Error(`plan of ${hostName(i)}: HTTP ${res.status}`);
  return (await res.json()) as { serial: number; revision: string; actions: { id: string }[] };
}

async function refresh(url: string, admin: string): Promise<void> {
  const res = await fetch(`${url}/v1/source/refresh`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
  await res.text();
  if (res.status !== 200) throw new Error(`refresh: HTTP ${res.status}`);
}

export async function run(): Promise<void> {
  const hosts = flag('hosts', 10_000);
  const refreshes = flag('refreshes', 50);
  const profile = await profiler();
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-reconcile-'));
  let repo: GitFixture | undefined;
  let controller: RunningController | undefined;
  try {
    repo = await makeGitFixture();
    const art = artifacts();
    // Artifacts are binary: written beside the manifests, committed with them.
    await mkdir(join(repo.work, 'artifacts'), { recursive: true });
    for (const [k, a] of art) await writeFile(join(repo.work, 'artifacts', `${k}.bin`), a.bytes);
    const withRollout = process.argv.includes('--rollout');
    await repo.commit(repositoryFiles(art, false, withRollout), withRollout ? '20 deployments and a rollout' : '20 deployments');

    const db = `sqlite:${join(dir, 'ferry.db')}`;
    const fill = measure();
    await fillStore(db, hosts);
    console.log(
      `machine: ${availableParallelism()} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (wall times stretch with load; CPU times less so)`,
    );
    console.log(`fleet: ${hosts} hosts (enrolled and inventoried in ${fill().wallMs.toFixed(0)} ms), ${DEPLOYMENTS} deployments, ${PACKAGES * 2} package versions`);
    (globalThis as { gc?: () => void }).gc?.();

    // First reconcile: start → the revision applied (every plan signed and stored).
    const stopFirst = await profile('first');
    const first = measure();
    let readyAt: number | undefined;
    const c = await startController({
      repo: repo.origin,
      branch: 'main',
      db,
      data: join(dir, 'data'),
      listen: '127.0.0.1:0',
      pollMs: 3_600_000,
      logger: pino({ level: process.env['FERRY_BENCH_LOG'] ?? 'warn' }),
      clock: systemClock,
    });
    controller = c;
    const admin = (await readFile(c.adminTokenFile, 'utf8')).trim();
    const t0 = performance.now();
    const readyWatch = (async () => {
      await until(async () => (await fetch(`${c.url}/readyz`)).status === 200, 20);
      readyAt = performance.now() - t0;
    })();
    await until(() => c.reconciler()?.status().appliedRevision !== undefined, 10);
    const firstSample = first();
    await stopFirst();
    await readyWatch;
    const firstRun = c.reconciler()!.status().lastRun;
    line('first reconcile', firstSample, 15_000, `; /readyz 200 after ${readyAt?.toFixed(0)} ms; ${firstRun?.replanned} hosts planned; steps ${JSON.stringify(firstRun?.stepsMs)}`);
    const targeted = 0; // host-000000 is in site-0
    const before = await plan(c.url, targeted);

    // A commit changing deploy-00 (site-0, 10% of hosts) → a targeted host is served the new plan.
    const changes: Sample[] = [];
    const rss: number[] = [process.memoryUsage.rss() / 1024 ** 2];
    let flip = false;
    for (let r = 0; r < refreshes; r++) {
      flip = !flip;
      await repo.commit(repositoryFiles(art, flip, withRollout), `flip deploy-00 (${r})`);
      const stopChange = r === 0 ? await profile('change') : async () => undefined;
      const change = measure();
      const want = before.serial + r + 1;
      await refresh(c.url, admin);
      await until(async () => (await plan(c.url, targeted)).serial >= want);
      const s = change();
      await stopChange();
      changes.push(s);
      rss.push(s.rssMiB);
      const run = c.reconciler()!.status().lastRun;
      if (r < 3 || r === refreshes - 1)
        line(
          `10% change (pass ${r + 1})`,
          s,
          2000,
          `; pass ${run?.durationMs.toFixed(0)} ms, ${run?.replanned} re-planned, ${run?.raised.length} raised; steps ${JSON.stringify(run?.stepsMs)}`,
        );
    }
    const walls = changes.map((s) => s.wallMs);
    console.log(`10% change over ${changes.length}:      median ${ms(median(walls))} (CPU ${ms(median(changes.map((s) => s.cpuMs)))}), max ${ms(Math.max(...walls))}`);

    // A refresh that changes nothing.
    const noChange: Sample[] = [];
    for (let r = 0; r < 5; r++) {
      const s = measure();
      await refresh(c.url, admin);
      noChange.push(s());
    }
    const lastRun = c.reconciler()!.status().lastRun;
    for (const [i, s] of noChange.entries()) if (i < 2 || i === noChange.length - 1) line(`no-change refresh (${i + 1})`, s, 100);
    console.log(`  the last one's pass: ${lastRun?.outcome}, ${lastRun?.durationMs.toFixed(0)} ms; steps ${JSON.stringify(lastRun?.stepsMs)}`);

    (globalThis as { gc?: () => void }).gc?.();
    const every = Math.max(1, Math.floor(rss.length / 10));
    console.log(
      `RSS over ${refreshes} refreshes (MiB): ${rss
        .filter((_, i) => i % every === 0 || i === rss.length - 1)
        .map((x) => x.toFixed(0))
        .join(' → ')}; after gc ${(process.memoryUsage.rss() / 1024 ** 2).toFixed(0)}; aim ≤ 1024 and flat`,
    );

    await churn(c, hosts, flag('churn-rounds', 10), profile);
    if (withRollout) await rolloutReports(c, flag('rollout-rounds', 5), profile);

    console.log(
      `load average at the end: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    // The planner alone on the same inputs.
    await plannerAlone(c, repo, art);
  } finally {
    await controller?.stop();
    await repo?.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Rounds of 1% of the fleet re-reporting changed facts (free disk, CPUs: no selector reads them),
 * as the API does it: the inventories stored, then `inventoryChanged` for each host that changed.
 * The store writes are measured alone, then the passes until the one that read the last of them has
 * finished (the whole process's CPU).
 */
async function churn(c: RunningController, hosts: number, rounds: number, profile: (name: string) => Promise<() => Promise<void>>): Promise<void> {
  const reconciler = c.reconciler()!;
  const k = Math.max(1, Math.floor(hosts / 100));
  const writes: Sample[] = [];
  const samples: Sample[] = [];
  const passes: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const ids = Array.from({ length: k }, (_, j) => (j * 100 + round * 7) % hosts);
    const inventories = ids.map((i) => {
      const inv = inventoryOf(i);
      const facts = { ...inv.facts, cpus: 16 + round, disk: { installRoot: { free: (30 + round) * GiB, total: 100 * GiB } } };
      return { inventory: { ...inv, facts }, now: new Date() };
    });
    const before = reconciler.status().counters;
    const stop = round === 2 ? await profile('churn') : async () => undefined;
    const w = measure();
    const results = await c.store.putInventories(inventories);
    writes.push(w());
    const s = measure();
    for (const [j, r] of results.entries()) if (r.changed) reconciler.inventoryChanged(inventories[j]!.inventory.host);
    // Read in a pass that has finished: Reconciling is True from a pass's start to its end.
    const done = () => {
      const status = reconciler.status();
      return status.counters.inventoriesRead >= before.inventoriesRead + k && status.conditions.find((x) => x.type === 'Reconciling')?.status !== 'True';
    };
    await until(done, 2);
    samples.push(s());
    await stop();
    passes.push(reconciler.status().counters.passes - before.passes);
    if (round <= 2 || round === rounds) {
      const run = reconciler.status().lastRun;
      console.log(
        `churn round ${round}: ${k} hosts, store writes CPU ${ms(writes.at(-1)!.cpuMs)}, then CPU ${ms(samples.at(-1)!.cpuMs)} in ${passes.at(-1)} passes, the last ${run?.replanned} re-planned, steps ${JSON.stringify(run?.stepsMs)}`,
      );
    }
  }
  const pass = median(samples.map((s) => s.cpuMs));
  console.log(
    `churn, 1% (${k} hosts) a round over ${rounds}: median CPU of the store writes ${ms(median(writes.map((s) => s.cpuMs)))}; of the passes ${ms(pass)} (${median(passes)} a round), ${((pass / k) * 1000).toFixed(0)} µs a changed host`,
  );
}

/**
 * Rounds of (up to) 100 hosts of the rollout's first wave reporting their install done, as the API takes
 * them: the reports stored, then `reportsIngested` for each; the CPU of the passes until one that
 * started after the last report has finished (the whole process's CPU).
 */
async function rolloutReports(c: RunningController, rounds: number, profile: (name: string) => Promise<() => Promise<void>>): Promise<void> {
  const reconciler = c.reconciler()!;
  const ready = (await c.store.actionStatuses({ deployment: ROLLOUT, state: 'pending' })).map((s) => s.host);
  // 100 a round, fewer when the first wave is small.
  const PER_ROUND = Math.min(100, Math.floor(ready.length / rounds));
  if (PER_ROUND < 1) throw new Error(`--rollout: ${ready.length} hosts in the first wave, fewer than ${rounds} rounds`);
  const total = (await c.store.countStates({ deployment: ROLLOUT })).reduce((n, x) => n + x.count, 0);
  const samples: Sample[] = [];
  for (let round = 0; round < rounds; round++) {
    const batch = ready.slice(round * PER_ROUND, (round + 1) * PER_ROUND);
    const now = new Date();
    const reports = await Promise.all(
      batch.map(async (host) => {
        const plan = JSON.parse((await c.store.getPlan(host))!.signed!) as { serial: number; actions: { id: string; deployment: string }[] };
        const action = plan.actions.find((a) => a.deployment === ROLLOUT)!;
        return { host, reports: [{ id: `bench-${host}-${round}`, actionId: action.id, serial: plan.serial, state: 'installed' as const, at: now.toISOString() }] };
      }),
    );
    await c.store.ingestReportBatches(reports.map((r) => ({ ...r, now })));
    const stop = round === 1 ? await profile('rollout') : async () => undefined;
    const s = measure();
    for (const host of batch) reconciler.reportsIngested(host);
    await reconciler.reconcileNow(`reports:${batch.at(-1)}`);
    samples.push(s());
    await stop();
    if (round < 2 || round === rounds - 1) {
      const run = reconciler.status().lastRun;
      console.log(
        `rollout reports round ${round + 1}: ${PER_ROUND} hosts, CPU ${ms(samples.at(-1)!.cpuMs)}; the last pass ${run?.durationMs.toFixed(0)} ms, steps ${JSON.stringify(run?.stepsMs)}`,
      );
    }
  }
  const cpu = median(samples.map((s) => s.cpuMs));
  console.log(
    `rollout of ${total} actions, ${PER_ROUND} first-wave hosts reporting a round over ${rounds}: median CPU of the passes ${ms(cpu)}, ${((cpu / PER_ROUND) * 1000).toFixed(0)} µs a reporting host`,
  );
}

async function plannerAlone(c: RunningController, repo: GitFixture, art: ReadonlyMap<string, { bytes: Buffer; sha256: string }>): Promise<void> {
  const files = (flip: boolean) => Object.entries(repositoryFiles(art, flip)).map(([path, content]) => ({ path, content }));
  const a = loadManifests(files(false), { revision: 'a' }).snapshot!;
  const b = loadManifests(files(true), { revision: 'b' }).snapshot!;
  const inventories = (await c.store.listInventories()).map((r) => r.inventory);
  const ctx: PlanningContext = { now: new Date().toISOString(), installed: [] };
  (globalThis as { gc?: () => void }).gc?.();
  const full = measure();
  const result = planFleet(a, inventories, ctx);
  const fullS = full();
  const inc = measure();
  const next = replan({ snapshot: a, inventories, ctx, result }, { snapshot: b, inventories, ctx });
  const incS = inc();
  line('planner alone, full', fullS, 2000, `; ${result.plans.size} plans`, true);
  line('planner alone, incremental', incS, 200, `; ${next.replanned.length} re-planned`, true);
  void repo;
}
