/**
 * `npm run bench -- plan` (issue 3 item 6): a generated fleet of 100,000 hosts, 200 groups (nested
 * and selector-based), 300 packages, 50 deployments with conditions and requires. Prints full
 * planning time, peak RSS, an incremental re-plan after changing one deployment of ~10,000 hosts,
 * and a bare loop over the same host × deployment pairs as the floor.
 * Aim: full ≤ 2 s, incremental ≤ 200 ms, RSS ≤ 1 GiB.
 */
import type { AnyResource, ConditionSpec, DeploymentResource, Resource, Snapshot } from '../core/manifest/types.js';
import type { Inventory } from '../core/plan/types.js';
import { deepFreeze } from '../core/manifest/snapshot.js';
import { planFleet, replan, type InstalledRecord, type PlanningContext } from '../core/planner/index.js';

const GiB = 1024 ** 3;
const sites = ['osaka', 'tokyo', 'berlin', 'paris', 'nyc', 'sfo', 'london', 'sydney', 'delhi', 'sao-paulo'];
const depts = ['sales', 'dev', 'ops', 'hr', 'finance', 'legal', 'support', 'research'];
const zones = ['Asia/Tokyo', 'Europe/Berlin', 'America/New_York', 'UTC'];

/** A resource, frozen as a loaded snapshot's are. */
function res<K extends AnyResource['kind'], S>(kind: K, name: string, spec: S): Resource<K, S> {
  return deepFreeze({ apiVersion: 'ferry/v1', kind, metadata: { name, labels: {}, annotations: {} }, spec, source: { file: 'bench.yaml', line: 1, col: 1 } });
}
const cmd = (c: string) => ({ command: ['sh', c], timeoutMs: 600_000, env: {} });

/** The generated fleet: `hostCount` hosts (100,000 in the benchmark), the rest fixed. */
export function benchFleet(hostCount = 100_000): { snapshot: Snapshot; inventories: Inventory[]; ctx: PlanningContext & { readonly installed: readonly InstalledRecord[] } } {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const inventories: Inventory[] = [];
  for (let i = 0; i < hostCount; i++) {
    inventories.push({
      host: `host-${String(i).padStart(6, '0')}`,
      facts: {
        os: { platform: i % 10 === 0 ? 'darwin' : 'linux' },
        arch: i % 7 === 0 ? 'arm64' : 'x64',
        cpus: 2 + (i % 8),
        memory: { total: (4 + (i % 4) * 4) * GiB },
        disk: { installRoot: { free: Math.floor(rand() * 20 * GiB), total: 100 * GiB } },
        timezone: zones[i % zones.length]!,
      },
      labels: { site: sites[i % sites.length]!, dept: depts[Math.floor(i / 10) % depts.length]!, tier: `t${i % 5}` },
      software: [
        { name: 'python3', version: `3.${6 + (i % 7)}.2-1`, source: 'dpkg' },
        { name: 'openssl', version: '3.0.2', source: 'dpkg' },
      ],
    });
  }
  const conditions = new Map<string, Resource<'Condition', ConditionSpec>>([
    ['enough-disk', res('Condition', 'enough-disk', { minDiskFree: 2 * GiB })],
    ['linux', res('Condition', 'linux', { os: ['linux'], arch: ['x64', 'arm64'] })],
    ['python', res('Condition', 'python', { software: { present: [{ name: 'python3', version: '>=3.8' }], absent: [] } })],
    ['big-box', res('Condition', 'big-box', { minMemory: 8 * GiB, minCpus: 4 })],
  ]);
  const condNames = [...conditions.keys()];
  const packages = new Map<string, Map<string, Resource<'Package', any>>>();
  for (let i = 0; i < 300; i++) {
    const name = `pkg-${String(i).padStart(3, '0')}`;
    const spec = {
      version: '1.0.0',
      artifact: { sha256: (i.toString(16) + 'a'.repeat(64)).slice(0, 64), size: 1_000_000 + i },
      install: cmd('install.sh'),
      uninstall: cmd('uninstall.sh'),
      requires: i % 3 === 0 && i >= 30 ? [`pkg-${String(i % 30).padStart(3, '0')}`] : [],
      conditions: i % 2 === 0 ? [condNames[i % condNames.length]!] : [],
      ...(i % 10 === 0 ? { installWindow: 'lunch' } : {}),
    };
    packages.set(name, new Map([['1.0.0', res('Package', name, spec)]]));
    if (i % 50 === 0) packages.get(name)!.set('1.1.0', res('Package', name, { ...spec, version: '1.1.0' }));
  }
  const groups = new Map<string, Resource<'Group', any>>();
  const g = (name: string, spec: object) => groups.set(name, res('Group', name, { hosts: [], include: [], exclude: [], ...spec }));
  for (const site of sites) for (const dept of depts) g(`${site}-${dept}`, { selector: { labels: { site, dept }, facts: {} } }); // 80
  for (const site of sites) g(`site-${site}`, { include: depts.map((d) => `${site}-${d}`), exclude: ['quarantine'] }); // 10
  for (const dept of depts) g(`dept-${dept}`, { selector: { labels: { dept }, facts: {} } }); // 8
  for (let t = 0; t < 5; t++) g(`tier-${t}`, { selector: { labels: { tier: `t${t}` }, facts: { 'os.platform': ['linux', 'darwin'] } } }); // 5
  g('quarantine', { hosts: Array.from({ length: 50 }, (_, i) => `host-${String(i * 997).padStart(6, '0')}`) });
  g('macs', { selector: { labels: {}, facts: { 'os.platform': 'darwin' } } });
  g('arm', { selector: { labels: {}, facts: { arch: 'arm64' } } });
  for (let i = 0; groups.size < 200; i++)
    g(`team-${i}`, {
      hosts: Array.from({ length: 20 }, (_, k) => `host-${String((i * 131 + k * 17) % hostCount).padStart(6, '0')}`),
      include: i % 4 === 0 ? [`site-${sites[i % sites.length]}`] : [],
    });
  const schedules = new Map([
    ['nightly', res('Schedule', 'nightly', { timezone: 'Asia/Tokyo', windows: [{ cron: '0 22 * * 1-5', durationMs: 6 * 3_600_000 }] })],
    ['lunch', res('Schedule', 'lunch', { timezone: 'host', windows: [{ cron: '0 12 * * 1-5', durationMs: 3_600_000 }] })],
  ]);
  const relays = new Map(
    sites.map((s) => [`relay-${s}`, res('Relay', `relay-${s}`, { host: `relay-${s}-01`, url: `http://relay-${s}-01:8470`, serves: { groups: [`site-${s}`], hosts: [] } })]),
  );
  const deployments = new Map<string, DeploymentResource>();
  for (let i = 0; i < 50; i++) {
    const name = `deploy-${String(i).padStart(2, '0')}`;
    const targets =
      i === 0
        ? { groups: ['site-osaka'], hosts: [] } // ~10,000 hosts: the one the incremental run changes
        : i % 5 === 0
          ? { groups: [`tier-${i % 5}`], hosts: [] }
          : i % 5 === 1
            ? { groups: [`dept-${depts[i % depts.length]}`], hosts: [] }
            : { groups: [`site-${sites[i % sites.length]}`, `team-${i}`], hosts: [] };
    const pkgs = [0, 1, 2].map((k) => `pkg-${String((i * 6 + k * 97 + 30) % 300).padStart(3, '0')}`);
    deployments.set(
      name,
      res('Deployment', name, {
        packages: [...new Set(pkgs)].map((p) => ({ name: p, version: '1.0.0', state: 'present' as const })),
        targets,
        distribute: { ...(i % 2 === 0 ? { window: 'nightly' } : {}), segmentSize: 4 * 1024 * 1024, multicast: false, wake: i % 3 === 0 },
        install: { shutdownAfter: false },
        ...(i % 4 === 0 ? { rollout: { waves: [{ percent: 5 }, { percent: 25 }, { percent: 100 }], maxFailures: { percent: 10 } } } : {}),
        onLeave: i % 2 === 0 ? 'uninstall' : 'keep',
        suspended: false,
      }),
    );
  }
  const hosts = new Map();
  for (let i = 0; i < 1000; i++) hosts.set(`host-${String(i * 7).padStart(6, '0')}`, res('Host', `host-${String(i * 7).padStart(6, '0')}`, { labels: { tier: 't0' } }));
  const snapshot: Snapshot = { revision: 'bench', packages, conditions, groups, hosts, schedules, deployments, relays, trustPolicies: new Map() };
  const installed = inventories
    .slice(0, 20_000)
    .map((inv, i) => ({ host: inv.host, deployment: `deploy-${String(i % 50).padStart(2, '0')}`, package: 'pkg-031', version: '1.0.0', onLeave: 'uninstall' as const }));
  return { snapshot, inventories, ctx: { now: '2026-12-01T10:30:00Z', installed } };
}

/** Wall and CPU (all threads, GC helpers included) milliseconds of `f`. */
function timed<T>(f: () => T): { value: T; wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = f();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1000 };
}

const pad = (x: number, unit = 'ms') => `${x.toFixed(0).padStart(6)} ${unit}`;
const verdict = (x: number, aim: number) => (x <= aim ? 'meets' : 'MISSES');

/** The benchmark's incremental change: deploy-00 (site-osaka, ~10,000 hosts) changes a package version and shutdownAfter. */
export function changeOneDeployment(snapshot: Snapshot): Snapshot {
  const changed = snapshot.deployments.get('deploy-00')!;
  const deployments = new Map(snapshot.deployments);
  deployments.set('deploy-00', {
    ...changed,
    spec: {
      ...changed.spec,
      packages: changed.spec.packages.map((p, i) => (i === 0 ? { ...p, version: p.name === 'pkg-030' || p.name === 'pkg-050' ? '1.1.0' : p.version } : p)),
      install: { shutdownAfter: true },
    },
  });
  return { ...snapshot, revision: 'bench-2', deployments };
}

export async function run(): Promise<void> {
  const { snapshot, inventories, ctx } = benchFleet();
  (globalThis as { gc?: () => void }).gc?.();

  const full = timed(() => planFleet(snapshot, inventories, ctx));
  const result = full.value;

  // Floor: a bare loop over the same host × deployment pairs.
  const floor = timed(() => {
    let pairs = 0;
    let sink = 0;
    for (const outcome of result.deployments.values())
      for (const h of outcome.hosts) {
        pairs++;
        sink += h.length;
      }
    return { pairs, sink };
  });

  // What a controller does after planning: hash every plan to decide whether its serial rises.
  const hashAll = (fp: typeof result) => () => {
    let n = 0;
    for (const _ of fp.hashes.values()) n++;
    return n;
  };
  const hashing = timed(hashAll(result));

  const next = { snapshot: changeOneDeployment(snapshot), inventories, ctx };
  const inc = timed(() => replan({ snapshot, inventories, ctx, result }, next));
  // After a replan only the re-planned hosts have new plan objects; the others keep their hashes.
  const rehashing = timed(hashAll(inc.value.result));
  // 1,000 hosts (every 100th) move to another department: their group membership is patched.
  const movedHosts = new Set<string>();
  const moved = inventories.map((inv, i) => {
    if (i % 100 !== 0) return inv;
    movedHosts.add(inv.host);
    return { ...inv, labels: { ...inv.labels, dept: depts[(depts.indexOf(inv.labels.dept!) + 1) % depts.length]! } };
  });
  const move = timed(() => replan({ snapshot, inventories, ctx, result }, { snapshot, inventories: moved, ctx, changed: movedHosts }));
  const rss = process.resourceUsage().maxRSS * 1024;

  let actions = 0;
  const distinctActions = new Set<object>();
  const distinctLists = new Set<object>();
  for (const p of result.plans.values()) {
    actions += p.actions.length;
    distinctLists.add(p.actions);
    for (const a of p.actions) distinctActions.add(a);
  }
  const targeted = result.deployments.get('deploy-00')!.hosts.length;
  const replanned = inc.value.replanned.length;
  console.log(
    `fleet: ${result.plans.size} hosts, ${snapshot.groups.size} groups, ${[...snapshot.packages.values()].reduce((n, v) => n + v.size, 0)} package versions, ${snapshot.deployments.size} deployments`,
  );
  console.log(
    `pairs: ${floor.value.pairs} host × deployment, ${actions} actions as ${distinctActions.size} shared action objects in ${distinctLists.size} shared lists (sink ${floor.value.sink % 10})`,
  );
  console.log(`full plan:          ${pad(full.wall)}  (CPU ${pad(full.cpu)})   aim ≤ 2000 ms: ${verdict(full.wall, 2000)}`);
  console.log(
    `incremental:        ${pad(inc.wall)}  (CPU ${pad(inc.cpu)})   aim ≤ 200 ms: ${verdict(inc.wall, 200)}; deploy-00 changed, ${targeted} hosts targeted, ${replanned} re-planned`,
  );
  console.log(
    `hosts move:         ${pad(move.wall)}  (CPU ${pad(move.cpu)})   ${movedHosts.size} hosts change department (group membership patched over ${snapshot.groups.size} groups), ${move.value.replanned.length} re-planned`,
  );
  console.log(`hash all plans:     ${pad(hashing.wall)}  (CPU ${pad(hashing.cpu)})   aim: a few hundred ms; ${hashing.value} plans, sha256 of RFC 8785 JSON, none hashed before`);
  console.log(`  … after the replan: ${pad(rehashing.wall)}  (CPU ${pad(rehashing.cpu)})   all ${rehashing.value} plans again; only the ${replanned} re-planned ones are new`);
  console.log(`bare loop (floor):  ${pad(floor.wall)}`);
  console.log(
    `ratios:             full / floor = ${(full.wall / Math.max(floor.wall, 0.001)).toFixed(0)}×, incremental / full = ${((100 * inc.wall) / full.wall).toFixed(1)}% for ${((100 * replanned) / result.plans.size).toFixed(1)}% of hosts, hashing / full = ${((100 * hashing.wall) / full.wall).toFixed(0)}%`,
  );
  console.log(`peak RSS:           ${pad(rss / 1024 ** 2, 'MiB')}                      aim ≤ 1024 MiB: ${verdict(rss / 1024 ** 2, 1024)}`);
}
