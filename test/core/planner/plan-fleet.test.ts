import { expect } from 'chai';
import {
  canonicalJson,
  hashPlan,
  planFleet,
  replan,
  rolloutOrder,
  type FleetPlan,
  type Inventories,
  type InstalledRecord,
  type PlanningContext,
} from '../../../core/planner/index.js';
import { VersionedMap } from '../../../core/planner/versioned-map.js';
import { planRollout } from '../../../core/planner/waves.js';
import type { Inventory } from '../../../core/plan/types.js';
import { condition, deployment, GiB, group, hostRes, inventory, pkg, relay, schedule, snapshot, shuffled } from './fixtures.js';

const now = '2026-12-01T10:30:00Z';
const hosts = Array.from({ length: 20 }, (_, i) => `h${String(i).padStart(2, '0')}`);
const lib = pkg('runtime-lib', '1.0.0');
const rolled = (extra: object = {}) =>
  deployment('roll', {
    packages: [{ name: 'runtime-lib', version: '1.0.0', state: 'present' }],
    targets: { groups: ['all'] },
    rollout: { waves: [{ percent: 5 }, { percent: 25 }, { percent: 100 }], maxFailures: { percent: 10 } },
    ...extra,
  });
const order = rolloutOrder(hosts, 'roll');
const fleetOf = (ctx: Partial<PlanningContext> = {}) =>
  planFleet(
    snapshot([lib, group('all', { hosts }), rolled()]),
    hosts.map((h) => inventory(h)),
    { now, installed: [], ...ctx },
  );
const statusBy = (fp: FleetPlan) =>
  Object.fromEntries([...fp.plans].map(([h, p]) => [h, p.actions.map((a) => `${a.status}${a.suspended ? ' suspended' : ''}${a.reason ? `: ${a.reason}` : ''}`)]));

/** The rollout progress of deployment roll: hosts finished and hosts failed. */
const progress = (finished: string[], failed: string[] = []): Partial<PlanningContext> => ({
  rollout: new Map([['roll', { finished: new Set(finished), failed: new Set(failed) }]]),
});

describe('core/planner rollout waves', () => {
  const cases: { name: string; ctx: Partial<PlanningContext>; outcome: object; waves: [string, string, string] }[] = [
    {
      name: 'nothing finished: wave 1 (5% → 1 host) runs, the others wait',
      ctx: {},
      outcome: { currentWave: 1, suspended: false },
      waves: ['planned', 'waiting: rollout wave 2 of 3 waits for wave 1', 'waiting: rollout wave 3 of 3 waits for wave 1'],
    },
    {
      name: 'wave 1 finished: wave 2 runs',
      ctx: progress(order.slice(0, 1)),
      outcome: { currentWave: 2, suspended: false },
      waves: ['planned', 'planned', 'waiting: rollout wave 3 of 3 waits for wave 2'],
    },
    {
      name: 'failed hosts count as done for the next wave',
      ctx: progress(order.slice(1, 5), order.slice(0, 1)),
      outcome: { currentWave: 3, suspended: false },
      waves: ['planned', 'planned', 'planned'],
    },
    {
      name: 'more failures than maxFailures: the deployment suspends itself',
      ctx: progress(order.slice(3, 5), order.slice(0, 3)),
      outcome: { currentWave: 3, suspended: 'self', selfSuspended: '3 of 20 hosts failed, more than maxFailures 10%' },
      waves: ['planned suspended', 'planned suspended', 'planned suspended'],
    },
    {
      name: 'operator suspension wins over self suspension in the outcome',
      ctx: { suspended: new Set(['roll']) },
      outcome: { currentWave: 1, suspended: 'operator' },
      waves: ['planned suspended', 'waiting suspended: rollout wave 2 of 3 waits for wave 1', 'waiting suspended: rollout wave 3 of 3 waits for wave 1'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const fp = fleetOf(c.ctx);
      expect(fp.deployments.get('roll')).to.deep.equal({ name: 'roll', hosts: order, waveEnds: [1, 5, 20], waves: 3, ...c.outcome });
      const expected = Object.fromEntries(order.map((h, i) => [h, [c.waves[i < 1 ? 0 : i < 5 ? 1 : 2]]]));
      expect(statusBy(fp)).to.deep.equal(expected);
    });
  }
  it('orders hosts by sha256(host + NUL + deployment), not by name', () => {
    expect(order).to.not.deep.equal(hosts);
    expect([...order].sort()).to.deep.equal(hosts);
  });
  it('progress moving in the same order keeps the waves of the rollout before it, and equals one planned afresh', () => {
    const dep = rolled();
    const targets = new Set(hosts);
    const at = (finished: string[], failed: string[] = []) => ({ finished: new Set(finished), failed: new Set(failed) });
    const before = planRollout(dep, targets, at([]), false);
    for (const p of [at(order.slice(0, 1)), at(order.slice(1, 5), order.slice(0, 1)), at(order.slice(3, 5), order.slice(0, 3))]) {
      const next = planRollout(dep, targets, p, false, before.outcome.hosts, false, before);
      expect(next.waveOf).to.equal(before.waveOf);
      expect(next).to.deep.equal(planRollout(dep, targets, p, false));
    }
    // Other wave ends (one host fewer): the waves are made again.
    const fewer = order.slice(1);
    expect(planRollout(dep, new Set(fewer), at([]), false, fewer, false, before).waveOf).to.deep.equal(planRollout(dep, new Set(fewer), at([]), false).waveOf);
  });
});

/** A fleet touching every rule, for determinism and incremental tests. */
function world(variant = 0) {
  const resources = [
    lib,
    pkg('runtime-lib', '1.1.0'),
    pkg('editor', '2.4.1', { requires: ['runtime-lib'], conditions: ['enough-disk'], installWindow: 'lunch' }),
    pkg('tool', '1.0.0', { conditions: ['linux'] }),
    condition('enough-disk', { minDiskFree: 2 * GiB }),
    condition('linux', { os: ['linux'] }),
    group('all', { selector: { labels: {}, facts: {} }, exclude: ['quarantine'] }),
    group('quarantine', { hosts: ['h03'] }),
    group('sales', { selector: { labels: { dept: 'sales' }, facts: {} } }),
    group('site', { include: ['sales'], hosts: ['static-1'] }),
    hostRes('h01', { labels: { dept: 'sales' }, relay: 'osaka' }),
    relay('osaka', { host: 'h00', url: 'http://h00:8470', serves: { groups: ['site'], hosts: [] } }),
    schedule('lunch', { timezone: 'host', windows: [{ cron: '0 12 * * 1-5', durationMs: 3_600_000 }] }),
    schedule('nightly', { timezone: 'Europe/Berlin', windows: [{ cron: '0 22 * * *', durationMs: 6 * 3_600_000 }] }),
    deployment('base', {
      packages: [{ name: 'runtime-lib', version: variant === 1 ? '1.1.0' : '1.0.0', state: 'present' }],
      targets: { groups: ['all'] },
      distribute: { window: 'nightly', multicast: false, wake: false },
    }),
    deployment('editor', {
      packages: [{ name: 'editor', version: '2.4.1', state: 'present' }],
      targets: { groups: ['sales'], hosts: ['static-1'] },
      rollout: { waves: [{ percent: 50 }, { percent: 100 }] },
    }),
    deployment('tools', { packages: [{ name: 'tool', version: '1.0.0', state: 'present' }], targets: { groups: ['site'] }, onLeave: 'uninstall' }),
  ];
  const inventories: Inventory[] = hosts.map((h, i) =>
    inventory(h, {
      labels: i % 3 === 0 ? { dept: 'sales' } : {},
      facts: {
        timezone: i % 2 ? 'Asia/Tokyo' : 'America/New_York',
        ...(i % 4 === 0 ? { disk: { installRoot: { free: GiB, total: 10 * GiB } } } : {}),
        ...(i % 5 === 0 ? { os: { platform: 'darwin' } } : {}),
      },
    }),
  );
  const ctx: PlanningContext & { readonly installed: readonly InstalledRecord[] } = {
    now,
    installed: [
      { host: 'h04', deployment: 'tools', package: 'tool', version: '1.0.0' },
      { host: 'h02', deployment: 'base', package: 'runtime-lib', version: '1.0.0' },
    ],
  };
  return { resources, inventories, ctx };
}
const dump = (fp: FleetPlan) => canonicalJson({ plans: [...fp.plans.values()], deployments: [...fp.deployments.values()], hashes: [...fp.hashes] });

describe('core/planner determinism', () => {
  const { resources, inventories, ctx } = world();
  const reference = planFleet(snapshot(resources), inventories, ctx);
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`permuted resources and inventories (seed ${seed}) give byte-identical plans and hashes`, () => {
      const got = planFleet(snapshot(shuffled(resources, seed)), shuffled(inventories, seed * 7), { ...ctx, installed: shuffled(ctx.installed, seed) });
      expect(dump(got)).to.equal(dump(reference));
    });
  }
  it('hashes are sha256 of the canonical JSON of each plan', () => {
    for (const [host, plan] of reference.plans)
      expect(reference.hashes.get(host))
        .to.equal(hashPlan(plan))
        .and.to.match(/^[0-9a-f]{64}$/);
  });
  it('hosts from inventories, Host manifests, static group and target hosts, and installed records', () => {
    expect([...reference.plans.keys()]).to.deep.equal([...hosts, 'static-1']);
  });
});

describe('core/planner replan', () => {
  const base = world();
  const prevInputs = { snapshot: snapshot(base.resources), inventories: base.inventories, ctx: base.ctx };
  const previous = { ...prevInputs, result: planFleet(prevInputs.snapshot, prevInputs.inventories, prevInputs.ctx) };
  const changedInv = base.inventories.map((inv) => (inv.host === 'h07' ? inventory('h07', { facts: { disk: { installRoot: { free: 1, total: 2 } } } }) : inv));
  const cases: { name: string; next: typeof prevInputs; replanned: string[] }[] = [
    { name: 'nothing changed: nothing re-planned', next: { ...prevInputs, snapshot: snapshot(base.resources) }, replanned: [] },
    {
      name: 'one deployment changed: only its hosts (and its installed hosts)',
      next: { ...prevInputs, snapshot: snapshot(world(1).resources) },
      replanned: [...new Set([...planFleet(snapshot(base.resources), base.inventories, base.ctx).deployments.get('base')!.hosts, 'h02'])].sort(),
    },
    { name: 'one inventory changed: only that host', next: { ...prevInputs, inventories: changedInv }, replanned: ['h07'] },
    {
      name: 'an installed record added: only that host',
      next: { ...prevInputs, ctx: { ...base.ctx, installed: [...base.ctx.installed, { host: 'h09', deployment: 'x', package: 'tool', version: '1.0.0', onLeave: 'uninstall' }] } },
      replanned: ['h09'],
    },
    {
      name: 'a label change moves a host between groups',
      next: { ...prevInputs, inventories: base.inventories.map((inv) => (inv.host === 'h02' ? { ...inv, labels: { dept: 'sales' } } : inv)) },
      replanned: [],
    },
    { name: 'operator suspension of one deployment', next: { ...prevInputs, ctx: { ...base.ctx, suspended: new Set(['tools']) } }, replanned: [] },
    // Issue 17: hosts joining are planned alone, their group membership patched, not resolved again.
    {
      name: 'new hosts send a first inventory: only they are planned',
      next: { ...prevInputs, inventories: [...base.inventories, inventory('h00a', {}), inventory('zz-new', {})] },
      replanned: ['h00a', 'zz-new'],
    },
    {
      name: "a new host joins a group with a rollout: that rollout's hosts too",
      next: { ...prevInputs, inventories: [...base.inventories, inventory('h00a', { labels: { dept: 'sales' } })] },
      replanned: [],
    },
    {
      name: 'a quarantined host re-reports with a sales label',
      next: { ...prevInputs, inventories: base.inventories.map((inv) => (inv.host === 'h03' ? { ...inv, labels: { dept: 'sales' } } : inv)) },
      replanned: [],
    },
    { name: "a host's inventory goes away", next: { ...prevInputs, inventories: base.inventories.filter((inv) => inv.host !== 'h06') }, replanned: [] },
  ];
  for (const c of cases) {
    it(`${c.name}; the result equals a full planFleet`, () => {
      const { result, replanned } = replan(previous, c.next);
      const full = planFleet(c.next.snapshot, c.next.inventories, c.next.ctx);
      expect(dump(result)).to.equal(dump(full));
      if (c.replanned.length > 0) expect(replanned).to.deep.equal(c.replanned);
      else if (c.name.startsWith('nothing')) expect(replanned).to.deep.equal([]);
      // hosts not re-planned keep their plan object
      for (const [h, p] of result.plans) if (!replanned.includes(h)) expect(p).to.equal(previous.result.plans.get(h));
    });
  }
});

// Issue 17: a fleet onboarding or re-reporting, pass after pass, each pass built on the previous
// result (the reconciler's chain); every result equals planFleet on its inputs.
describe('core/planner replan: chained passes of a fleet onboarding', () => {
  const { resources, ctx } = world();
  const snap = snapshot(resources);
  const inv = (i: number, dept = i % 3 === 0 ? 'sales' : 'ops') => inventory(`n${String(i).padStart(4, '0')}`, { labels: { dept }, facts: { timezone: 'Asia/Tokyo' } });
  const start = Array.from({ length: 60 }, (_, i) => inv(i * 4));
  const cases: { name: string; step: (list: readonly Inventory[], pass: number) => { list: Inventory[]; changed: string[] } }[] = [
    {
      name: 'hosts added only (25 a pass, between and after the others)',
      step: (list, pass) => {
        const added = Array.from({ length: 25 }, (_, j) => inv(pass * 100 + j * 4 + 1));
        return { list: [...list, ...added], changed: added.map((i) => i.host) };
      },
    },
    {
      name: 'the inventory of 10 hosts changed (labels moving them between groups)',
      step: (list, pass) => {
        const changed = list.filter((_, i) => (i + pass) % 6 === 0).map((i) => i.host);
        return { list: list.map((i) => (changed.includes(i.host) ? { ...i, labels: { dept: pass % 2 ? 'sales' : 'ops' }, facts: { ...i.facts, cpus: 100 + pass } } : i)), changed };
      },
    },
  ];
  for (const c of cases) {
    it(`${c.name}: each pass plans only those hosts and equals planFleet`, () => {
      let previous = { snapshot: snap, inventories: start as readonly Inventory[], ctx, result: planFleet(snap, start, ctx) };
      for (let pass = 1; pass <= 4; pass++) {
        const { list, changed } = c.step(previous.inventories, pass);
        const next = { snapshot: snap, inventories: list, ctx };
        const { result, replanned } = replan(previous, next);
        expect(dump(result), `pass ${pass}`).to.equal(dump(planFleet(snap, list, ctx)));
        expect([...result.plans.keys()]).to.deep.equal([...planFleet(snap, list, ctx).plans.keys()]);
        // Only those hosts, plus rollout neighbours of a host moving into or out of 'editor' (sales).
        for (const h of changed) expect(replanned).to.include(h);
        for (const h of replanned) if (!changed.includes(h)) expect(planFleet(snap, list, ctx).deployments.get('editor')!.hosts).to.include(h);
        for (const [h, p] of result.plans) if (!replanned.includes(h)) expect(p).to.equal(previous.result.plans.get(h));
        previous = { ...next, result };
      }
    });
  }
  it('a result two passes old cannot be read; replanning again from an older result equals planFleet', () => {
    const p0 = { snapshot: snap, inventories: start as readonly Inventory[], ctx, result: planFleet(snap, start, ctx) };
    const n1 = { snapshot: snap, inventories: [...start, inv(1)], ctx };
    const r1 = replan(p0, n1).result;
    const n2 = { snapshot: snap, inventories: [...n1.inventories, inv(2)], ctx };
    const r2 = replan({ ...n1, result: r1 }, n2).result;
    expect(r1.plans.get('n0001')).to.not.equal(undefined);
    expect(() => p0.result.plans.get('n0001')).to.throw(/superseded/);
    // A branch: the next version of r1 exists (r2), so this one copies r1's plans.
    const n2b = { snapshot: snap, inventories: [...n1.inventories, inv(5)], ctx };
    const { result: r2b, replanned } = replan({ ...n1, result: r1 }, n2b);
    expect(replanned).to.deep.equal(['n0005']);
    expect(dump(r2b)).to.equal(dump(planFleet(snap, n2b.inventories, ctx)));
    expect(dump(r2)).to.equal(dump(planFleet(snap, n2.inventories, ctx)));
  });
});

/** `perPass(n)` (work counted per pass in a fleet of n) is the same at 10,000 hosts as at 1,000, and about the 20 hosts that changed. */
const sameWorkAtTenTimesTheFleet = (perPass: (n: number) => number[]) => {
  const small = perPass(1000);
  const large = perPass(10_000);
  expect(large).to.deep.equal(small);
  for (const n of small) expect(n).to.be.within(20, 20 * 10);
};

/** `n` inventoried hosts n00000…, every third in dept sales. */
const fleet = (n: number) =>
  Array.from({ length: n }, (_, i) => inventory(`n${String(i).padStart(5, '0')}`, { labels: i % 3 === 0 ? { dept: 'sales' } : {}, facts: { timezone: 'Asia/Tokyo' } }));

/** Host → inventory over `map`, counting the inventories read (looked up or iterated) into `reads`. */
class Counted implements ReadonlyMap<string, Inventory> {
  constructor(
    readonly map: VersionedMap<Inventory>,
    private readonly reads: { n: number },
  ) {}
  get size(): number {
    return this.map.size;
  }
  get(host: string): Inventory | undefined {
    this.reads.n++;
    return this.map.get(host);
  }
  has(host: string): boolean {
    this.reads.n++;
    return this.map.has(host);
  }
  *entries(): MapIterator<[string, Inventory]> {
    for (const e of this.map.entries()) {
      this.reads.n++;
      yield e;
    }
  }
  *keys(): MapIterator<string> {
    for (const [h] of this.entries()) yield h;
  }
  *values(): MapIterator<Inventory> {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator](): MapIterator<[string, Inventory]> {
    return this.entries();
  }
  forEach(fn: (value: Inventory, key: string, map: ReadonlyMap<string, Inventory>) => void): void {
    for (const [h, v] of this.entries()) fn(v, h, this);
  }
}

// Issue 17: inventory churn — hosts re-reporting changed facts, given as the controller gives them
// (a VersionedMap and the hosts that changed) — costs work in proportion to those hosts.
describe('core/planner replan: inventory churn given as a map and the hosts that changed', () => {
  const { resources, ctx } = world();
  const snap = snapshot(resources);
  /** Pass `pass` of churn: 20 hosts spread over the fleet re-report, their facts (or labels) changed. */
  const churn = (map: VersionedMap<Inventory>, pass: number, labels: boolean) => {
    const hosts = [...map.keys()].filter((_, i) => i % Math.floor(map.size / 20) === pass);
    const changes = new Map<string, Inventory>();
    for (const h of hosts) {
      const inv = map.get(h)!;
      changes.set(h, { ...inv, facts: { ...inv.facts, cpus: 8 + pass }, ...(labels ? { labels: { dept: pass % 2 ? 'sales' : 'ops' } } : {}) });
    }
    return { next: map.with(changes), changed: new Set(hosts) };
  };
  /** Inventories the replan of each of 3 churn passes read, in a fleet of `n`; each result checked against planFleet when `check`. */
  const churnPasses = (n: number, opts: { labels?: boolean; named?: boolean; check?: boolean } = {}) => {
    const reads = { n: 0 };
    let map = VersionedMap.of(fleet(n).map((inv) => [inv.host, inv] as const));
    const first: Inventories = new Counted(map, reads);
    let previous = { snapshot: snap, inventories: first, ctx, result: planFleet(snap, first, ctx) };
    const perPass: number[] = [];
    for (let pass = 1; pass <= 3; pass++) {
      const { next, changed } = churn(map, pass, opts.labels ?? false);
      const inventories = new Counted(next, reads);
      reads.n = 0;
      const { result, replanned } = replan(previous, { snapshot: snap, inventories, ctx, ...((opts.named ?? true) ? { changed } : {}) });
      perPass.push(reads.n);
      for (const h of changed) expect(replanned).to.include(h);
      if (opts.check) {
        const full = planFleet(snap, [...next.values()], ctx);
        expect(dump(result), `pass ${pass}`).to.equal(dump(full));
        const members = (fp: FleetPlan) => [...fp.groups].map(([name, hosts]) => [name, [...hosts].sort()]);
        expect(members(result)).to.deep.equal(members(full));
      }
      previous = { snapshot: snap, inventories, ctx, result };
      map = next;
    }
    return perPass;
  };

  it('facts of 20 hosts change, pass after pass: each result equals planFleet', () => {
    churnPasses(600, { check: true });
  });
  it('labels of 20 hosts change (moving them between groups): each result equals planFleet', () => {
    churnPasses(600, { labels: true, check: true });
  });
  it('reads as many inventories in a fleet of 10,000 as in one of 1,000: those of the hosts that changed', () => {
    sameWorkAtTenTimesTheFleet((n) => churnPasses(n));
  });
  it('without the hosts that changed, compares every inventory (by identity first)', () => {
    for (const n of churnPasses(1000, { named: false })) expect(n).to.be.at.least(1000);
  });
});

// Issue 14: install reports change the installed records of the hosts that reported. Given as the
// controller gives them (a VersionedMap by host, each version made from the previous one), a pass
// compares only those hosts' records and keeps the fleet's host list, whatever the fleet's size.
describe('core/planner replan: installed records given as a map by host', () => {
  const { resources, ctx } = world();
  const snap = snapshot(resources);
  const record = (host: string, deployment: string, pkgName: string, version: string, onLeave?: 'uninstall'): InstalledRecord => ({
    host,
    deployment,
    package: pkgName,
    version,
    ...(onLeave ? { onLeave } : {}),
  });
  /** Every 5th host has runtime-lib from base; `x-retired` (no inventory) has one from a deleted deployment. */
  const firstRecords = (inventories: readonly Inventory[]) => {
    const byHost = new Map<string, readonly InstalledRecord[]>();
    inventories.forEach((inv, i) => i % 5 === 0 && byHost.set(inv.host, [record(inv.host, 'base', 'runtime-lib', '1.0.0')]));
    byHost.set('x-retired', [record('x-retired', 'gone', 'tool', '1.0.0', 'uninstall')]);
    return VersionedMap.of(byHost);
  };
  /** Pass `pass`: 20 hosts spread over the fleet report an install of editor (some had records, some had none). */
  const installs = (map: VersionedMap<readonly InstalledRecord[]>, inventories: readonly Inventory[], pass: number) => {
    const step = Math.floor(inventories.length / 20);
    const changes = new Map<string, readonly InstalledRecord[]>();
    for (let i = pass; i < inventories.length; i += step) {
      const host = inventories[i]!.host;
      changes.set(host, [...(map.get(host) ?? []), record(host, 'editor', 'editor', '2.4.1')]);
    }
    return map.with(changes);
  };
  /** Installed-map reads of each of 3 passes of installs in a fleet of `n` (every version's `get`, which iteration also calls). */
  const passes = (n: number, check = false) => {
    const inventories = fleet(n);
    const versions = new WeakSet<object>();
    const reads = { n: 0 };
    const get = VersionedMap.prototype.get;
    VersionedMap.prototype.get = function (this: VersionedMap<unknown>, key: string) {
      if (versions.has(this)) reads.n++;
      return get.call(this, key);
    };
    try {
      let map = firstRecords(inventories);
      versions.add(map);
      let previous = { snapshot: snap, inventories, ctx: { ...ctx, installed: map }, result: planFleet(snap, inventories, { ...ctx, installed: map }) };
      const perPass: number[] = [];
      for (let pass = 1; pass <= 3; pass++) {
        map = installs(map, inventories, pass);
        versions.add(map);
        const next = { snapshot: snap, inventories, ctx: { ...ctx, installed: map } };
        reads.n = 0;
        const { result, replanned } = replan(previous, next);
        perPass.push(reads.n);
        expect(replanned, `pass ${pass}`).to.have.length(20);
        expect(result.plans.size).to.equal(previous.result.plans.size);
        if (check) expect(dump(result), `pass ${pass}`).to.equal(dump(planFleet(snap, inventories, { ...ctx, installed: [...map.values()].flat() })));
        previous = { ...next, result };
      }
      return perPass;
    } finally {
      VersionedMap.prototype.get = get;
    }
  };

  it('20 hosts install a package, pass after pass: only they are re-planned, and each result equals planFleet', () => {
    passes(600, true);
  });
  it('reads as many installed records in a fleet of 10,000 as in one of 1,000: those of the hosts that reported', () => {
    sameWorkAtTenTimesTheFleet((n) => passes(n));
  });
  it('a host whose last record goes, or a first record on a host no input names, changes the fleet: equals planFleet', () => {
    const inventories = fleet(300);
    let map = firstRecords(inventories);
    let previous = { snapshot: snap, inventories, ctx: { ...ctx, installed: map }, result: planFleet(snap, inventories, { ...ctx, installed: map }) };
    const steps: [string, ReadonlyMap<string, readonly InstalledRecord[] | undefined>, boolean][] = [
      ['x-retired uninstalled: it leaves the fleet', new Map([['x-retired', undefined]]), false],
      ['a record on y-new, no inventory: it joins', new Map([['y-new', [record('y-new', 'gone', 'tool', '1.0.0', 'uninstall')]]]), true],
      ['n00000 loses its record (it stays, inventoried)', new Map([['n00000', undefined]]), true],
    ];
    for (const [name, changes, inFleet] of steps) {
      map = map.with(changes);
      const next = { snapshot: snap, inventories, ctx: { ...ctx, installed: map } };
      const { result } = replan(previous, next);
      expect(dump(result), name).to.equal(dump(planFleet(snap, inventories, { ...ctx, installed: [...map.values()].flat() })));
      const host = [...changes.keys()][0]!;
      expect(result.plans.has(host), name).to.equal(inFleet);
      previous = { ...next, result };
    }
  });
});
