/**
 * Rollout progress between passes: every rollout action's status read once, then only those of the
 * hosts a pass names — so a report costs work in proportion to the hosts that reported, not to the
 * hosts of the rollout — with the plans a reconciler reading everything would make.
 */
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { pino } from 'pino';
import type { ManifestFile } from '../../../core/manifest/types.js';
import type { Plan } from '../../../core/plan/types.js';
import { corePlanning } from '../../../controller/reconcile/core-planning.js';
import { Reconciler } from '../../../controller/reconcile/reconciler.js';
import { keepUnchanged, rolloutProgress, statusChanges, updateRolloutProgress, type RolloutProgress } from '../../../controller/reconcile/rollout.js';
import { openStore } from '../../../controller/store/index.js';
import type { ActionStatusRecord, StatusState, Store } from '../../../controller/store/store.js';
import { FakeSource } from './fake-source.js';

const privateKeyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const logger = pino({ level: 'silent' });
const t0 = Date.parse('2026-12-01T09:00:00Z');
const HOSTS = 200;
const host = (i: number) => `h${String(i).padStart(3, '0')}`;

/** A group of every host, one package, and a deployment in waves of 10%, 50%, 100% with a failure budget. */
const manifests: ManifestFile[] = [
  {
    path: 'fleet.yaml',
    content: `apiVersion: ferry/v1
kind: Group
metadata: {name: all}
spec:
  selector: {labels: {fleet: yes}}
---
apiVersion: ferry/v1
kind: Deployment
metadata: {name: hello-all}
spec:
  packages:
    - {name: hello, version: "1.0.0", state: present}
  targets: {groups: [all]}
  rollout: {waves: ["10%", "50%", "100%"], maxFailures: "5%"}
`,
  },
  {
    path: 'packages.yaml',
    content: `apiVersion: ferry/v1
kind: Package
metadata: {name: hello}
spec:
  version: "1.0.0"
  artifact:
    sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
    size: 5
  install: {command: [sh, install.sh]}
  uninstall: {command: [sh, uninstall.sh]}
`,
  },
];

const ACTION = 'hello-all/hello@1.0.0/install';

describe('controller/reconcile rollout progress between passes', function () {
  this.timeout(60_000);
  let store: Store;
  let source: FakeSource;
  let now: number;
  const reconcilers: Reconciler[] = [];

  function make(): Reconciler {
    const r = new Reconciler({
      store,
      source,
      planning: corePlanning,
      signingKey: privateKeyPem,
      clock: { now: () => now, sleep: async () => {} },
      logger,
      metrics: { observe: () => {} },
      maxRetryMs: 200,
    });
    reconcilers.push(r);
    return r;
  }

  beforeEach(async () => {
    store = await openStore('sqlite::memory:');
    source = new FakeSource();
    now = t0;
    for (let i = 0; i < HOSTS; i++) await store.putInventory({ host: host(i), facts: {}, labels: { fleet: 'yes' }, software: [] }, new Date(now));
    source.push('main@sha1:r0110', manifests);
  });
  afterEach(async () => {
    for (const r of reconcilers.splice(0)) await r.stop();
    await store.close();
  });

  const planOf = async (h: string) => JSON.parse((await store.getPlan(h))!.signed!) as Plan;
  const planned = async () => {
    const out: string[] = [];
    for (let i = 0; i < HOSTS; i++) out.push((await planOf(host(i))).actions[0]!.status);
    return out;
  };
  /** A reconciler reading every status from the store computes the plans `reconciler` saved: it raises none. */
  async function expectFullReadAgrees(reconciler: Reconciler): Promise<void> {
    await reconciler.stop();
    const serials = async () => Promise.all(Array.from({ length: HOSTS }, async (_, i) => (await store.getPlan(host(i)))!.serial));
    const before = await serials();
    const fresh = make();
    fresh.start();
    await fresh.reconcileNow('check');
    expect(fresh.status().counters.rolloutStatusesRead).to.be.at.least(HOSTS);
    expect(await serials()).to.deep.equal(before);
  }
  /** Each host of `hosts` reports its install finished (or failed), as the API would take it. */
  async function report(reconciler: Reconciler, hosts: readonly string[], state: 'installed' | 'failed'): Promise<void> {
    for (const h of hosts) {
      const serial = (await planOf(h)).serial;
      now += 1000;
      await store.ingestReports(h, [{ id: `${h}-${now}`, actionId: ACTION, serial, state, at: new Date(now).toISOString() }], new Date(now));
      reconciler.reportsIngested(h);
    }
  }

  it('a pass after reports reads the statuses of the hosts that reported, and opens the next wave as a full read would', async () => {
    const reconciler = make();
    reconciler.start();
    const first = await reconciler.reconcileNow('first');
    expect(first?.outcome).to.equal('applied');
    // The first pass found no plan; the next reads the statuses of the plans the first one raised.
    expect(reconciler.status().counters.rolloutStatusesRead).to.equal(0);
    await reconciler.reconcileNow('reports:nobody');
    const read0 = reconciler.status().counters.rolloutStatusesRead;
    expect(read0).to.equal(HOSTS);

    const statuses = await planned();
    const wave1 = Array.from({ length: HOSTS }, (_, i) => host(i)).filter((_, i) => statuses[i] === 'planned');
    expect(wave1).to.have.length(HOSTS / 10);

    // All of wave 1 but one: hosts report, passes read only them; no wave opens yet.
    await report(reconciler, wave1.slice(0, -1), 'installed');
    const partial = await reconciler.reconcileNow(`reports:${wave1[0]}`);
    expect(reconciler.status().counters.rolloutStatusesRead - read0).to.equal(wave1.length - 1);
    expect((await planned()).filter((s) => s === 'planned')).to.have.length(HOSTS / 10);

    // The last one finishes wave 1: wave 2 opens (50% of the fleet planned, not waiting).
    const before = reconciler.status().counters.rolloutStatusesRead;
    await report(reconciler, wave1.slice(-1), 'installed');
    await reconciler.reconcileNow(`reports:${wave1.at(-1)}`);
    // The host that reported, and the hosts whose plans the last pass raised (installed records moved them).
    expect(reconciler.status().counters.rolloutStatusesRead - before).to.equal(1 + (partial?.raised?.length ?? 0));
    const opened = await planned();
    expect(opened.filter((s) => s !== 'waiting')).to.have.length(HOSTS / 2);

    // A refresh, the day's roll-over, an operator's override cannot move a reported state: no status read.
    await reconciler.reconcileNow('reports:nobody');
    const settled = reconciler.status().counters.rolloutStatusesRead;
    for (const trigger of ['refresh', 'daily', 'overrides']) await reconciler.reconcileNow(trigger);
    expect(reconciler.status().counters.rolloutStatusesRead).to.equal(settled);
    // A pass of unknown cause reads them all.
    await reconciler.reconcileNow('manual');
    expect(reconciler.status().counters.rolloutStatusesRead).to.equal(settled + HOSTS);

    await expectFullReadAgrees(reconciler);
  });

  it('failures past maxFailures suspend the rollout from reports alone, and the raised plans are read again on the next pass', async () => {
    const reconciler = make();
    reconciler.start();
    await reconciler.reconcileNow('first');
    await reconciler.reconcileNow('reports:nobody');
    const wave1 = (await planned()).flatMap((s, i) => (s === 'planned' ? [host(i)] : []));
    // 5% of 200 is 10: the 11th failure suspends.
    await report(reconciler, wave1.slice(0, 11), 'failed');
    const run = await reconciler.reconcileNow(`reports:${wave1[10]}`);
    expect(run?.outcome).to.equal('applied');
    expect((await store.listOverrides()).map((o) => o.deployment)).to.deep.equal(['hello-all']);
    // Every host's plan changed (the deployment suspended); the next pass reads the rollout hosts it raised.
    const before = reconciler.status().counters.rolloutStatusesRead;
    await reconciler.reconcileNow(`reports:${wave1[0]}`);
    expect(reconciler.status().counters.rolloutStatusesRead - before).to.equal(run!.raised!.length);

    await expectFullReadAgrees(reconciler);
  });
});

describe('controller/reconcile rolloutProgress and updateRolloutProgress', () => {
  const record = (host: string, deployment: string, state: StatusState, n = 0): ActionStatusRecord =>
    ({ host, deployment, actionId: `${deployment}/p${n}`, state }) as unknown as ActionStatusRecord;
  const states: StatusState[] = ['pending', 'installed', 'failed', 'not-applicable', 'waiting'];
  const plain = (m: ReadonlyMap<string, { finished: ReadonlySet<string>; failed: ReadonlySet<string> }>) =>
    Object.fromEntries([...m].map(([d, p]) => [d, { finished: [...p.finished].sort(), failed: [...p.failed].sort() }]));

  it('the hosts whose reported states may have moved, from the triggers of a pass', () => {
    expect(statusChanges(['reports:h1', 'inventory:h2', 'refresh', 'source', 'daily', 'overrides', 'content:ab', 'content-retry'])).to.deep.equal({
      kind: 'hosts',
      hosts: new Set(['h1', 'h2']),
    });
    for (const t of ['start', 'retry', 'signals-resumed', 'replica-inventory', 'manual']) expect(statusChanges(['reports:h1', t])).to.deep.equal({ kind: 'all' });
  });

  it('a host failed when one action failed, finished when all are done; every deployment has an entry', () => {
    const p = rolloutProgress(
      ['a', 'b', 'c'],
      [
        record('h1', 'a', 'installed'),
        record('h1', 'a', 'failed', 1),
        record('h2', 'a', 'installed'),
        record('h2', 'a', 'not-applicable', 1),
        record('h3', 'a', 'pending'),
        record('h1', 'b', 'installed'),
      ],
    );
    expect(plain(p)).to.deep.equal({ a: { finished: ['h2'], failed: ['h1'] }, b: { finished: ['h1'], failed: [] }, c: { finished: [], failed: [] } });
  });

  it('updated host by host, it says what reading every status says, and keeps what did not move by identity', () => {
    // A seeded walk: each step changes some hosts' states, then compares the two.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const deployments = ['a', 'b'];
    const current = new Map<string, ActionStatusRecord[]>();
    const all = () => [...current.values()].flat();
    let progress: ReadonlyMap<string, RolloutProgress> = rolloutProgress(deployments, all());
    for (let step = 0; step < 200; step++) {
      const moved = new Set<string>();
      for (let k = rand(4); k > 0; k--) {
        const h = `h${rand(30)}`;
        moved.add(h);
        const actions = rand(3);
        current.set(
          h,
          Array.from({ length: actions }, (_, n) => record(h, deployments[rand(2)]!, states[rand(states.length)]!, n)),
        );
      }
      const next = updateRolloutProgress(
        progress,
        moved,
        [...moved].flatMap((h) => current.get(h) ?? []),
      );
      expect(plain(next), `step ${step}`).to.deep.equal(plain(rolloutProgress(deployments, all())));
      for (const d of deployments) {
        const same = plain(new Map([[d, next.get(d)!]]))[d];
        if (JSON.stringify(same) === JSON.stringify(plain(new Map([[d, progress.get(d)!]]))[d])) expect(next.get(d)).to.equal(progress.get(d));
      }
      progress = next;
    }
    expect(updateRolloutProgress(progress, new Set(['nobody']), [])).to.equal(progress);
    expect(keepUnchanged(progress, rolloutProgress(deployments, all()))).to.equal(progress);
  });
});
