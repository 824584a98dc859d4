/**
 * The memo layer (host-key.ts + PlanSharing) must never change a plan: over random fleets, every
 * host's memoised plan (planFleet, one PlanSharing for the run) deep-equals the plan decided for
 * that host alone with nothing shared. A field decide() reads that the host key does not cover
 * shows up here as two hosts with one key and different plans.
 */
import { expect } from 'chai';
import type { Snapshot } from '../../../core/manifest/types.js';
import type { HostPlan, Inventory, SoftwareItem } from '../../../core/plan/types.js';
import { buildState, leaveTemplateOf, templatesOf } from '../../../core/planner/fleet-state.js';
import { planFleet, planHost, type InstalledRecord, type PlanningContext } from '../../../core/planner/index.js';
import { GiB, condition, deployment, group, hostRes, pkg, schedule, sha, snapshot } from './fixtures.js';

/** mulberry32: a small seeded PRNG, so a failing seed can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number) => next() < p;
  const some = <T>(xs: readonly T[], p: number): T[] => xs.filter(() => chance(p));
  return { int, pick, chance, some };
}

const packageNames = ['runtime-lib', 'editor', 'browser', 'vpn', 'cad', 'agent-tools'];
const versions = ['1.0.0', '2.0.0'];
const conditionNames = ['linux-only', 'big-disk', 'big-memory', 'many-cpus', 'has-python', 'no-legacy', 'x64'];
const zones = ['Asia/Tokyo', 'Europe/Paris', 'UTC', 'America/New_York', undefined];
const depts = ['sales', 'eng', 'ops', 'lab'];

interface Fleet {
  readonly snapshot: Snapshot;
  readonly inventories: readonly Inventory[];
  readonly ctx: PlanningContext;
}

function randomFleet(seed: number, hostCount: number): Fleet {
  const r = prng(seed);
  const hosts = Array.from({ length: hostCount }, (_, i) => `h${String(i).padStart(4, '0')}`);
  const conditions = [
    condition('linux-only', { os: ['linux'] }),
    condition('big-disk', { minDiskFree: 20 * GiB }),
    condition('big-memory', { minMemory: 16 * GiB }),
    condition('many-cpus', { minCpus: 8 }),
    condition('has-python', { software: { present: [{ name: 'python3', version: '>=3.8' }], absent: [] } }),
    condition('no-legacy', { software: { present: [], absent: [{ name: 'legacy-editor' }] } }),
    condition('x64', { arch: ['x64'] }),
  ];
  const schedules = [
    schedule('nightly', { timezone: 'Asia/Tokyo', windows: [{ cron: '0 22 * * 1-5', durationMs: 6 * 3_600_000 }] }),
    schedule('local-lunch', { timezone: 'host', windows: [{ cron: '0 12 * * *', durationMs: 3_600_000 }] }),
  ];
  const packages = packageNames.flatMap((name, i) =>
    versions
      .filter((_, v) => v === 0 || r.chance(0.6))
      .map((version) =>
        pkg(name, version, {
          artifact: { sha256: sha(String.fromCharCode(97 + i)) + version, size: 1024 * (1 + r.int(5000)) },
          requires: r.some([...packageNames.slice(0, i), 'python3', 'ext-lib'], 0.2),
          conditions: [...r.some(conditionNames, 0.25), ...(r.chance(0.05) ? ['undefined-condition'] : [])],
          ...(r.chance(0.3) ? { detect: { command: ['sh', '-c', `test -f /opt/${name}`], timeoutMs: 30_000, env: {} } } : {}),
          ...(r.chance(0.15) ? { uninstall: undefined } : {}),
          ...(r.chance(0.3) ? { installWindow: r.pick(['nightly', 'local-lunch']) } : {}),
        }),
      ),
  );
  const groups = [
    group('linux', { selector: { labels: {}, facts: { 'os.platform': 'linux' } } }),
    group('sales', { selector: { labels: { dept: 'sales' }, facts: {} } }),
    group('listed', { hosts: r.some(hosts, 0.2) }),
    group('eng-or-ops', { selector: { labels: { dept: 'eng' }, facts: {} }, include: ['ops'] }),
    group('ops', { selector: { labels: { dept: 'ops' }, facts: {} } }),
    group('everyone-but-lab', { include: ['linux', 'listed'], exclude: ['lab'] }),
    group('lab', { selector: { labels: { dept: 'lab' }, facts: {} } }),
  ];
  const groupNames = groups.map((g) => g.metadata.name);
  const deployments = Array.from({ length: 6 }, (_, i) =>
    deployment(`dep-${i}`, {
      packages: r
        .some(packageNames, 0.35)
        .map((name) => ({ name, version: r.chance(0.8) ? '1.0.0' : r.pick([...versions, '9.9.9']), state: r.chance(0.8) ? 'present' : 'absent' })),
      targets: { groups: r.some(groupNames, 0.3), hosts: r.some(hosts, 0.02) },
      ...(r.chance(0.3) ? { distribute: { window: 'nightly' } } : {}),
      ...(r.chance(0.3) ? { install: { window: r.pick(['nightly', 'local-lunch']) } } : {}),
      ...(r.chance(0.4) ? { rollout: { waves: [{ percent: 10 }, { count: 20 }, { percent: 100 }], maxFailures: { percent: 50 } } } : {}),
      onLeave: r.chance(0.5) ? 'uninstall' : 'keep',
      suspended: r.chance(0.1),
    }),
  );
  const staticHosts = r.some(hosts, 0.05).map((h) => hostRes(h, { labels: { dept: r.pick(depts) } }));
  const snap = snapshot([...conditions, ...schedules, ...packages, ...groups, ...deployments, ...staticHosts], `seed-${seed}`);

  const software = (): SoftwareItem[] => [
    ...r.some(packageNames, 0.2).map((name) => ({ name, version: r.pick(versions), source: r.pick(['ferry', 'dpkg']) })),
    ...(r.chance(0.5) ? [{ name: 'python3', version: r.pick(['3.6.0', '3.11.2']), source: 'dpkg' }] : []),
    ...(r.chance(0.1) ? [{ name: 'legacy-editor', version: '1.0', source: 'rpm' }] : []),
    ...(r.chance(0.1) ? [{ name: 'ext-lib', version: '1.0', source: 'rpm' }] : []),
  ];
  const inventories: Inventory[] = hosts
    .filter(() => r.chance(0.9))
    .map((host) => {
      const zone = r.pick(zones);
      return {
        host,
        facts: {
          os: { platform: r.chance(0.8) ? 'linux' : 'darwin' },
          arch: r.chance(0.8) ? 'x64' : 'arm64',
          cpus: r.pick([2, 4, 8, 16]),
          memory: { total: r.pick([4, 8, 16, 32]) * GiB },
          disk: { installRoot: { free: r.pick([1, 5, 25, 100]) * GiB, total: 200 * GiB } },
          ...(zone === undefined ? {} : { timezone: zone }),
        },
        labels: (r.chance(0.9) ? { dept: r.pick(depts) } : {}) as Record<string, string>,
        software: software(),
      };
    });
  const installed: InstalledRecord[] = hosts.flatMap((host) =>
    r.chance(0.3)
      ? [
          {
            host,
            deployment: r.pick([...deployments.map((d) => d.metadata.name), 'deleted-dep']),
            package: r.pick(packageNames),
            version: r.pick(versions),
            ...(r.chance(0.5) ? { onLeave: r.pick(['keep', 'uninstall'] as const) } : {}),
          },
        ]
      : [],
  );
  const rollout = new Map(deployments.map((d) => [d.metadata.name, { finished: new Set(r.some(hosts, 0.3)), failed: new Set(r.some(hosts, 0.03)) }] as const));
  const ctx: PlanningContext = {
    now: '2026-12-04T09:00:00Z',
    installed,
    rollout,
    suspended: new Set(
      r.some(
        deployments.map((d) => d.metadata.name),
        0.1,
      ),
    ),
    resumed: new Set(
      r.some(
        deployments.map((d) => d.metadata.name),
        0.1,
      ),
    ),
    unavailable: new Map(r.chance(0.5) ? [[packages[r.int(packages.length)]!.spec.artifact.sha256, 'the source answered 404']] : []),
  };
  return { snapshot: snap, inventories, ctx };
}

/** Each host's plan decided alone: the same inputs as planFleet, but no PlanSharing across hosts. */
function unmemoised(fleet: Fleet): Map<string, HostPlan> {
  const state = buildState(fleet.snapshot, fleet.inventories, fleet.ctx);
  const plans = new Map<string, HostPlan>();
  for (const host of state.hosts) {
    plans.set(
      host,
      planHost(host, {
        snapshot: state.snapshot,
        inventory: state.inventories.get(host),
        deployments: state.deploymentsOfHost.get(host) ?? [],
        rollouts: state.rollouts,
        templates: (name) => templatesOf(state, name),
        leaveTemplate: (dep, p, version) => leaveTemplateOf(state, dep, p, version),
        installed: state.installedByHost.get(host) ?? [],
        sources: state.sources.sourcesOf(host),
        unavailable: state.ctx.unavailable,
      }),
    );
  }
  return plans;
}

describe('core/planner memo layer: memoised plans equal plans decided alone (random fleets)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: 400 hosts`, () => {
      const fleet = randomFleet(seed, 400);
      const memoised = planFleet(fleet.snapshot, fleet.inventories, fleet.ctx).plans;
      const alone = unmemoised(fleet);
      // Not a vacuous comparison: the fleet has actions in several statuses.
      const statuses = new Set([...memoised.values()].flatMap((p) => p.actions.map((a) => a.status)));
      expect(statuses.size, [...statuses].join()).to.be.at.least(3);
      expect(new Map(memoised)).to.deep.equal(alone);
    });
  }
});
