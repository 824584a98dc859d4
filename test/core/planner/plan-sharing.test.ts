import { createHash } from 'node:crypto';
import { expect } from 'chai';
import canonicalize from 'canonicalize';
import { benchFleet, changeOneDeployment } from '../../../bench/plan.js';
import { canonicalJson, canonicalPlanJson, hashPlan, planFleet, replan, type FleetPlan } from '../../../core/planner/index.js';
import type { HostPlan } from '../../../core/plan/types.js';
import { buildState } from '../../../core/planner/fleet-state.js';
import { planOneHost } from '../../../core/planner/plan-fleet.js';
import { PlanSharing } from '../../../core/planner/plan-sharing.js';
import { deployment, inventory, pkg, snapshot } from './fixtures.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const dump = (fp: FleetPlan) => canonicalJson({ plans: [...fp.plans.values()], deployments: [...fp.deployments.values()], hashes: [...fp.hashes] });

/** The benchmark's fleet at a small scale: every rule the benchmark exercises, on few hosts. */
const small = benchFleet(1_500);
const planned = planFleet(small.snapshot, small.inventories, small.ctx);

describe('core/planner shared plans: canonical text and hashes from cached pieces', () => {
  it('canonicalPlanJson equals canonicalize of the whole plan, and hashPlan its sha256, for every plan of the bench fleet', () => {
    let checked = 0;
    for (const plan of planned.plans.values()) {
      const text = canonicalize(plan)!;
      expect(canonicalPlanJson(plan)).to.equal(text);
      expect(hashPlan(plan)).to.equal(sha256(text));
      checked++;
    }
    expect(checked).to.equal(planned.plans.size);
  });

  const host = [...planned.plans.keys()][1]!;
  const plan = planned.plans.get(host)!;
  const cases: { name: string; value: HostPlan }[] = [
    { name: 'a copy not made by the planner', value: { host: plan.host, sources: [...plan.sources], actions: plan.actions.map((a) => ({ ...a })) } },
    {
      name: 'a plan with envelope fields (other keys)',
      value: { ...plan, serial: 7, revision: 'r', generatedAt: '2026-12-01T10:30:00Z', expiresAt: '2026-12-02T10:30:00Z' } as HostPlan,
    },
    { name: 'shared actions under another host name', value: { ...plan, host: 'zz-other' } },
    { name: 'shared actions with an unfrozen sources list', value: { ...plan, sources: [{ kind: 'controller', name: 'controller', url: 'https://c' }] } },
  ];
  for (const c of cases) {
    it(`${c.name}: the same text and hash as canonicalize`, () => {
      const text = canonicalize(c.value)!;
      expect(canonicalPlanJson(c.value)).to.equal(text);
      expect(hashPlan(c.value)).to.equal(sha256(text));
    });
  }

  it('hosts with the same actions share one frozen list and frozen actions', () => {
    const lists = new Set([...planned.plans.values()].map((p) => p.actions));
    expect(lists.size).to.be.lessThan(planned.plans.size / 2);
    for (const list of lists) {
      expect(Object.isFrozen(list)).to.equal(true);
      for (const a of list) expect(Object.isFrozen(a)).to.equal(true);
    }
  });
});

describe('core/planner host memo: hosts with equal keys share one decision', () => {
  const withoutSome = small.inventories.filter((_, i) => i % 7 !== 3);
  const retiring = withRetirement();
  const cases = [
    { name: 'the bench fleet', inventories: small.inventories },
    { name: 'the bench fleet with every 7th inventory missing', inventories: withoutSome },
    { name: 'the bench fleet uninstalling a package with detect, reported on some hosts, from Ferry on others', ...retiring },
    { name: 'the same with every 7th inventory missing', ...retiring, inventories: retiring.inventories.filter((_, i) => i % 7 !== 3) },
  ];
  for (const c of cases) {
    it(`${c.name}: every plan equals the plan decided from scratch`, () => {
      const { snapshot, ctx } = { snapshot: small.snapshot, ctx: small.ctx, ...c };
      const memo = planFleet(snapshot, c.inventories, ctx);
      const state = { ...buildState(snapshot, c.inventories, ctx), sharing: new PlanSharing({ memoPlans: false }) };
      for (const [host, plan] of memo.plans) expect(canonicalJson(planOneHost(state, host)), host).to.equal(canonicalJson(plan));
    });
  }
  it('the retirement plans every status an uninstall with detect can have', () => {
    const statuses = new Set<string>();
    for (const plan of planFleet(
      retiring.snapshot,
      retiring.inventories.filter((_, i) => i % 7 !== 3),
      retiring.ctx,
    ).plans.values()) {
      for (const a of plan.actions) if (a.deployment === 'retire') statuses.add(`${a.status}: ${a.reason ?? ''}`);
    }
    expect([...statuses].sort()).to.deep.equal([
      'planned: ',
      'unknown: no inventory reported yet; the agent checks whether legacy 1.0.0 is installed',
      'unknown: not reported installed; the agent runs detect to decide',
    ]);
  });
});

/**
 * The small bench fleet plus `retire`, removing `legacy` (which has detect) from two tiers and two hosts (one never reports): every
 * 3rd host reports it, every 5th reports another version, every 11th had it installed by Ferry.
 */
function withRetirement() {
  const packages = new Map(small.snapshot.packages);
  packages.set('legacy', new Map([['1.0.0', pkg('legacy', '1.0.0', { detect: { command: ['sh', '-c', 'test -f /opt/legacy/VERSION'], timeoutMs: 30_000, env: {} } })]]));
  const deployments = new Map(small.snapshot.deployments);
  deployments.set(
    'retire',
    deployment('retire', { packages: [{ name: 'legacy', version: '1.0.0', state: 'absent' }], targets: { groups: ['tier-1', 'tier-2'], hosts: ['host-000003', 'host-006993'] } }),
  );
  const inventories = small.inventories.map((inv, i) =>
    i % 3 === 0
      ? { ...inv, software: [...inv.software, { name: 'legacy', version: '1.0.0', source: 'dpkg' }] }
      : i % 5 === 0
        ? { ...inv, software: [...inv.software, { name: 'legacy', version: '0.9.0', source: 'dpkg' }] }
        : inv,
  );
  const installed = [
    ...small.ctx.installed,
    ...small.inventories.filter((_, i) => i % 11 === 0).map((inv) => ({ host: inv.host, deployment: 'retire', package: 'legacy', version: '1.0.0' })),
  ];
  return { snapshot: { ...small.snapshot, packages, deployments }, inventories, ctx: { ...small.ctx, installed } };
}

describe('core/planner replan on the bench fleet', () => {
  const target = planned.deployments.get('deploy-00')!.hosts;
  const cases: {
    name: string;
    next: () => { snapshot: typeof small.snapshot; inventories: typeof small.inventories; ctx: typeof small.ctx };
    replanned: (r: readonly string[]) => void;
  }[] = [
    {
      name: 'one deployment changed',
      replanned: (r) =>
        expect(r)
          .to.include.members([...target])
          .and.have.length.below(target.length * 2),
      next: () => ({ snapshot: changeOneDeployment(small.snapshot), inventories: small.inventories, ctx: small.ctx }),
    },
    { name: 'nothing changed', replanned: (r) => expect(r).to.deep.equal([]), next: () => ({ snapshot: { ...small.snapshot }, inventories: small.inventories, ctx: small.ctx }) },
    {
      name: 'one inventory lost its disk space',
      replanned: (r) => expect(r).to.deep.equal([small.inventories[42]!.host]),
      next: () => ({
        snapshot: small.snapshot,
        inventories: small.inventories.map((inv, i) => (i === 42 ? { ...inv, facts: { ...inv.facts, disk: { installRoot: { free: 1, total: 2 } } } } : inv)),
        ctx: small.ctx,
      }),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: the result equals a full planFleet, hashes included`, () => {
      const next = c.next();
      const { result, replanned } = replan({ ...small, result: planned }, next);
      expect(dump(result)).to.equal(dump(planFleet(next.snapshot, next.inventories, next.ctx)));
      c.replanned(replanned);
      for (const [h, p] of result.plans) if (!replanned.includes(h)) expect(p).to.equal(planned.plans.get(h));
    });
  }
});

describe('core/planner chunk hashes (ctx.chunks)', () => {
  const snap = snapshot([
    pkg('app', '1.0.0'),
    pkg('tool', '1.0.0'),
    deployment('multicast', { packages: [{ name: 'app', version: '1.0.0', state: 'present' }], targets: { hosts: ['h1', 'h2'] }, distribute: { multicast: true } }),
    deployment('unicast', { packages: [{ name: 'tool', version: '1.0.0', state: 'present' }], targets: { hosts: ['h1'] } }),
  ]);
  const inventories = [inventory('h1'), inventory('h2')];
  const now = '2026-12-01T10:00:00Z';
  const appSha = snap.packages.get('app')!.get('1.0.0')!.spec.artifact.sha256;
  const toolSha = snap.packages.get('tool')!.get('1.0.0')!.spec.artifact.sha256;
  const chunksOf = (c: string) => ({ size: 512, sha256: [c.repeat(64), c.repeat(64)] });
  const chunks = new Map([
    [appSha, chunksOf('a')],
    [toolSha, chunksOf('b')],
  ]);
  const artifactOf = (fp: FleetPlan, host: string, deploymentName: string) => fp.plans.get(host)!.actions.find((a) => a.deployment === deploymentName)!.artifact;

  it('only the installs of multicast deployments carry them, and the canonical text is still canonicalize of the plan', () => {
    const fp = planFleet(snap, inventories, { now, installed: [], chunks });
    expect(artifactOf(fp, 'h1', 'multicast').chunks).to.deep.equal(chunksOf('a'));
    expect(artifactOf(fp, 'h2', 'multicast').chunks).to.deep.equal(chunksOf('a'));
    expect(artifactOf(fp, 'h1', 'unicast')).to.not.have.property('chunks');
    for (const plan of fp.plans.values()) {
      const text = canonicalize(plan)!;
      expect(canonicalPlanJson(plan)).to.equal(text);
      expect(hashPlan(plan)).to.equal(sha256(text));
    }
  });

  it('chunks that became known re-plan the hosts: the plans change and carry them', () => {
    const before = planFleet(snap, inventories, { now, installed: [] });
    expect(artifactOf(before, 'h1', 'multicast')).to.not.have.property('chunks');
    const next = { snapshot: snap, inventories, ctx: { now, installed: [], chunks } };
    const { result, replanned } = replan({ snapshot: snap, inventories, ctx: { now, installed: [] }, result: before }, next);
    expect(replanned).to.include.members(['h1', 'h2']);
    expect(artifactOf(result, 'h1', 'multicast').chunks).to.deep.equal(chunksOf('a'));
    expect(result.hashes.get('h1')).to.not.equal(before.hashes.get('h1'));
    expect(dump(result)).to.equal(dump(planFleet(snap, inventories, next.ctx)));
  });
});
