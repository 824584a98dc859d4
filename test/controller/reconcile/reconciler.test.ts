import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { pino } from 'pino';
import type { ManifestFile } from '../../../core/manifest/types.js';
import type { Plan } from '../../../core/plan/types.js';
import { acceptPlan } from '../../../core/signing/index.js';
import { corePlanning } from '../../../controller/reconcile/core-planning.js';
import type { Planning } from '../../../controller/reconcile/planning.js';
import { Reconciler } from '../../../controller/reconcile/reconciler.js';
import type { ReconcileOutcome } from '../../../controller/reconcile/status.js';
import type { Clock } from '../../../lib/clock.js';
import { openStore } from '../../../controller/store/index.js';
import type { Store } from '../../../controller/store/store.js';
import { FakeSource, fixtureFiles } from './fake-source.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const logger = pino({ level: 'silent' });
const start = new Date('2026-11-24T09:00:00Z');

class StepClock {
  constructor(public time: Date) {}
  now = (): Date => new Date(this.time);
  advance(ms: number): void {
    this.time = new Date(this.time.getTime() + ms);
  }
}

/** The reconciler's clock (ms) reading the test's Date clock. */
function msClock(clock: { now(): Date }): Clock {
  return { now: () => clock.now().getTime(), sleep: async () => {} };
}

async function serials(store: Store): Promise<Record<string, [number, string]>> {
  const out: Record<string, [number, string]> = {};
  for (const host of ['h1', 'h2', 'h3', 'h4']) {
    const p = await store.getPlan(host);
    if (p) out[host] = [p.serial, p.revision];
  }
  return out;
}

function signedPlan(record: { signed?: string } | undefined): Plan {
  return JSON.parse(record!.signed!) as Plan;
}

describe('controller/reconcile Reconciler', function () {
  this.timeout(30_000);
  let store: Store;
  let source: FakeSource;
  let clock: StepClock;
  let reconciler: Reconciler;
  let observed: ReconcileOutcome[];
  let valid: ManifestFile[];
  let v2: ManifestFile[];
  let broken: ManifestFile[];

  function make(planning: Planning = corePlanning, storeImpl: Store = store): Reconciler {
    return new Reconciler({
      store: storeImpl,
      source,
      planning,
      signingKey: privateKeyPem,
      clock: msClock(clock),
      logger,
      metrics: { observe: (outcome) => observed.push(outcome) },
      maxRetryMs: 200,
    });
  }

  /** A host the fleet did not know reports: a pass raises it alone, with a first plan (serial 1) of `revision`. */
  async function expectNewHostPlanned(host: string, revision: string): Promise<void> {
    await store.putInventory({ host, facts: {}, labels: {}, software: [] }, clock.now());
    const run = await reconciler.reconcileNow();
    expect(run?.raised).to.deep.equal([host]);
    expect((await serials(store))[host]).to.deep.equal([1, revision]);
  }

  before(async () => {
    valid = await fixtureFiles('valid');
    v2 = await fixtureFiles('v2');
    // As in git: the broken commit replaces fleet.yaml and keeps packages.yaml.
    broken = [...(await fixtureFiles('invalid')), ...valid.filter((f) => f.path === 'packages.yaml')];
  });
  beforeEach(async () => {
    store = await openStore('sqlite::memory:');
    source = new FakeSource();
    clock = new StepClock(start);
    observed = [];
    reconciler = make();
    reconciler.start();
  });
  afterEach(async () => {
    await reconciler.stop();
    await store.close();
  });

  it('waits for a first revision, then plans every host, serial 1, signed with the controller key', async () => {
    const waiting = await reconciler.reconcileNow();
    expect(waiting?.outcome).to.equal('waiting');
    expect(reconciler.status().conditions.find((c) => c.type === 'Ready')).to.include({ status: 'Unknown', reason: 'WaitingForSource' });

    source.push('main@sha1:aaaa', valid);
    const run = await reconciler.reconcileNow();
    expect(run).to.include({ outcome: 'applied', replanned: 3 });
    expect(run?.raised).to.deep.equal(['h1', 'h2', 'h3']);
    expect(await serials(store)).to.deep.equal({ h1: [1, 'main@sha1:aaaa'], h2: [1, 'main@sha1:aaaa'], h3: [1, 'main@sha1:aaaa'] });

    const plan = signedPlan(await store.getPlan('h1'));
    expect(acceptPlan(plan, { publicKey: publicKeyPem, host: 'h1', now: start.toISOString() })).to.deep.equal({ ok: true });
    expect(plan).to.include({ host: 'h1', serial: 1, revision: 'main@sha1:aaaa', generatedAt: start.toISOString(), expiresAt: '2026-12-01T09:00:00.000Z' });
    expect(plan.actions.map((a) => a.id)).to.deep.equal(['hello-lab/hello@1.0.0/install']);
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(acceptPlan(plan, { publicKey: other, host: 'h1', now: start.toISOString() }).ok).to.equal(false);

    expect(await store.getSourceStatus()).to.deep.include({ lastAppliedRevision: 'main@sha1:aaaa', lastAttemptOk: true });
    const ready = reconciler.status().conditions.find((c) => c.type === 'Ready');
    expect(ready).to.include({ status: 'True', reason: 'Succeeded', observedRevision: 'main@sha1:aaaa' });
    expect(reconciler.status().appliedRevision).to.equal('main@sha1:aaaa');
  });

  it('skips when nothing changed: same revision, same inventories', async () => {
    source.push('main@sha1:aaaa', valid);
    await reconciler.reconcileNow();
    const again = await reconciler.reconcileNow();
    expect(again).to.include({ outcome: 'skipped', replanned: 0 });
    expect(again?.raised).to.deep.equal([]);
    // The same content under the same revision, pushed again: still nothing to do.
    source.push('main@sha1:aaaa', valid);
    expect((await reconciler.reconcileNow())?.outcome).to.equal('skipped');
    // An inventory re-sent unchanged does not change its hash: still skipped.
    const inventory = { host: 'h1', facts: { os: { platform: 'linux' } }, labels: {}, software: [] };
    await store.putInventory(inventory, clock.now());
    expect((await reconciler.reconcileNow())?.outcome).to.equal('applied');
    await store.putInventory(inventory, clock.now());
    expect((await reconciler.reconcileNow())?.outcome).to.equal('skipped');
    expect(observed).to.include('skipped');
  });

  it('raises a serial only for hosts whose plan content changed', async () => {
    source.push('main@sha1:aaaa', valid);
    await reconciler.reconcileNow();

    source.push('main@sha1:bbbb', v2);
    const run = await reconciler.reconcileNow();
    expect(run?.outcome).to.equal('applied');
    expect(run?.raised).to.deep.equal(['h3']);
    expect(await serials(store)).to.deep.equal({ h1: [1, 'main@sha1:aaaa'], h2: [1, 'main@sha1:aaaa'], h3: [2, 'main@sha1:bbbb'] });
    expect(signedPlan(await store.getPlan('h3')).actions.map((a) => a.id)).to.deep.equal(['hello-office/hello@2.0.0/install']);

    // An inventory that does not change h1's plan: re-planned, not re-served.
    await store.putInventory({ host: 'h1', facts: { os: { platform: 'linux' } }, labels: {}, software: [] }, clock.now());
    reconciler.inventoryChanged('h1');
    const inv = await reconciler.reconcileNow();
    expect(inv).to.include({ outcome: 'applied', replanned: 1 });
    expect(inv?.raised).to.deep.equal([]);

    // A host the fleet did not know: it gets its first plan; nobody else changes.
    await expectNewHostPlanned('h4', 'main@sha1:bbbb');

    // Going back to the first revision changes h3 again, and its serial keeps rising (never back to 1).
    source.push('main@sha1:cccc', valid);
    const back = await reconciler.reconcileNow();
    expect(back?.raised).to.deep.equal(['h3']);
    expect((await serials(store)).h3).to.deep.equal([3, 'main@sha1:cccc']);
  });

  it('does not apply a revision that does not validate: plans unchanged, status shows FILE:LINE:COL; a fix applies', async () => {
    source.push('main@sha1:aaaa', valid);
    await reconciler.reconcileNow();
    const before = await serials(store);

    source.push('main@sha1:bad0', broken);
    const rejected = await reconciler.reconcileNow();
    expect(rejected?.outcome).to.equal('rejected');
    expect(await serials(store)).to.deep.equal(before);
    const status = await store.getSourceStatus();
    expect(status.lastAppliedRevision).to.equal('main@sha1:aaaa');
    expect(status.lastAttemptedRevision).to.equal('main@sha1:bad0');
    expect(status.lastAttemptOk).to.equal(false);
    expect(status.rejected?.revision).to.equal('main@sha1:bad0');
    const problems = status.rejected?.problems ?? [];
    expect(problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.severity}`)).to.deep.equal(['fleet.yaml:12:30: error', 'fleet.yaml:13:27: error']);
    expect(problems[0]?.message).to.match(/9\.9\.9/);
    expect(problems[1]?.message).to.match(/no-such-group/);
    const conditions = Object.fromEntries(reconciler.status().conditions.map((c) => [c.type, c]));
    expect(conditions.Ready).to.include({ status: 'False', reason: 'ValidationFailed', observedRevision: 'main@sha1:bad0' });
    expect(conditions.Ready!.message).to.equal('revision main@sha1:bad0 does not validate; main@sha1:aaaa stays in force');
    expect(conditions.Stalled).to.include({ status: 'True', reason: 'ValidationFailed' });
    expect(reconciler.status().appliedRevision).to.equal('main@sha1:aaaa');

    // The last good revision keeps serving new hosts while the branch is broken.
    await expectNewHostPlanned('h4', 'main@sha1:aaaa');

    source.push('main@sha1:f1x0', v2);
    const fixed = await reconciler.reconcileNow();
    expect(fixed?.outcome).to.equal('applied');
    expect(fixed?.raised).to.deep.equal(['h3']);
    const after = await store.getSourceStatus();
    expect(after).to.deep.include({ lastAppliedRevision: 'main@sha1:f1x0', lastAttemptOk: true });
    expect(after.rejected).to.equal(undefined);
    expect(reconciler.status().conditions.find((c) => c.type === 'Ready')).to.include({ status: 'True', reason: 'Succeeded' });
  });

  it("reports that finish a wave trigger a pass that opens the next wave; other hosts' reports do not", async () => {
    source.push('main@sha1:r011', await fixtureFiles('rollout'));
    await reconciler.reconcileNow();
    const statusOf = async (host: string) => signedPlan(await store.getPlan(host)).actions.map((a) => `${a.id} ${a.status}`);
    expect(await statusOf('h2')).to.deep.equal(['hello-lab/hello@1.0.0/install planned']);
    expect(await statusOf('h1')).to.deep.equal(['hello-lab/hello@1.0.0/install waiting']);

    const runs = () => reconciler.status().lastRun?.startedAt;
    const before = runs();
    reconciler.reportsIngested('not-in-a-rollout');
    await new Promise((r) => setTimeout(r, 50));
    expect(runs()).to.equal(before);

    await store.ingestReports('h2', [{ id: 'r1', actionId: 'hello-lab/hello@1.0.0/install', serial: 1, state: 'installed', at: clock.now().toISOString() }], clock.now());
    clock.advance(1000);
    reconciler.reportsIngested('h2');
    const deadline = Date.now() + 10_000;
    while ((await store.getPlan('h1'))?.serial !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await statusOf('h1')).to.deep.equal(['hello-lab/hello@1.0.0/install planned']);
    expect(reconciler.status().lastRun?.triggers).to.deep.equal(['reports:h2']);
  });

  it('signs plans again, same serial, before they come within a day of expiry', async () => {
    source.push('main@sha1:aaaa', valid);
    await reconciler.reconcileNow();
    clock.advance(5 * 24 * 3600_000);
    await reconciler.reconcileNow('later');
    expect(signedPlan(await store.getPlan('h1')).expiresAt).to.equal('2026-12-01T09:00:00.000Z');

    clock.advance(Math.round(1.5 * 24 * 3600_000));
    await reconciler.reconcileNow('daily');
    const plan = signedPlan(await store.getPlan('h1'));
    expect(plan).to.include({ serial: 1, generatedAt: '2026-11-30T21:00:00.000Z', expiresAt: '2026-12-07T21:00:00.000Z' });
    expect(acceptPlan(plan, { publicKey: publicKeyPem, host: 'h1', now: clock.now().toISOString(), lastSerial: 1 })).to.deep.equal({ ok: true });
  });

  it('after a restart, signs again the stored plans it did not sign that come within a day of expiry', async () => {
    source.push('main@sha1:aaaa', valid);
    await reconciler.reconcileNow();
    const before = signedPlan(await store.getPlan('h1'));
    await reconciler.stop();
    clock.advance(Math.round(6.5 * 24 * 3600_000));
    reconciler = make();
    reconciler.start();
    const run = await reconciler.reconcileNow('restarted');
    expect(run?.raised).to.deep.equal([]);
    const plan = signedPlan(await store.getPlan('h1'));
    expect(plan).to.include({ serial: before.serial, generatedAt: clock.now().toISOString() });
    expect(acceptPlan(plan, { publicKey: publicKeyPem, host: 'h1', now: clock.now().toISOString(), lastSerial: before.serial })).to.deep.equal({ ok: true });
  });

  it('prunes report history past the retention, at most once an hour', async () => {
    await reconciler.stop();
    const day = 24 * 3600_000;
    reconciler = new Reconciler({ store, source, planning: corePlanning, signingKey: privateKeyPem, clock: msClock(clock), logger, reportRetentionMs: 30 * day });
    reconciler.start();
    source.push('main@sha1:aaaa', valid);
    const report = (id: string, state: 'installing' | 'installed') => ({ id, actionId: 'd/p@1/install', serial: 1, state, at: clock.now().toISOString() });
    await store.ingestReports('h1', [report('r1', 'installing')], clock.now());
    clock.advance(20 * day);
    await store.ingestReports('h1', [report('r2', 'installed')], clock.now());
    await reconciler.reconcileNow();
    expect((await store.history('h1')).map((r) => r.id)).to.deep.equal(['r1', 'r2']);
    clock.advance(11 * day); // r1 is 31 days old now
    await reconciler.reconcileNow('later');
    expect((await store.history('h1')).map((r) => r.id)).to.deep.equal(['r2']);
    expect((await store.currentStates({ host: 'h1' })).map((s) => s.state)).to.deep.equal(['installed']);
    clock.advance(19 * day - 5 * 60_000); // r2 is 5 minutes short of the retention
    await reconciler.reconcileNow('later');
    expect((await store.history('h1')).map((r) => r.id)).to.deep.equal(['r2']);
    clock.advance(10 * 60_000); // r2 is past the retention, but the last pruning was 10 minutes ago
    await reconciler.reconcileNow('soon after');
    expect((await store.history('h1')).map((r) => r.id)).to.deep.equal(['r2']);
    clock.advance(3600_000);
    await reconciler.reconcileNow('an hour later');
    expect(await store.history('h1')).to.deep.equal([]);
  });

  it('never runs two passes at once and coalesces triggers', async () => {
    let running = 0;
    let most = 0;
    let passes = 0;
    const slow: Planning = {
      load: corePlanning.load,
      plan(inputs, previous) {
        running++;
        most = Math.max(most, running);
        passes++;
        const out = corePlanning.plan(inputs, previous as never);
        running--;
        return out;
      },
    };
    await reconciler.stop();
    reconciler = make(slow);
    reconciler.start();
    source.push('main@sha1:aaaa', valid);
    const hosts = Array.from({ length: 20 }, (_, i) => `n${i}`);
    await Promise.all(
      hosts.map(async (host) => {
        await store.putInventory({ host, facts: {}, labels: {}, software: [] }, clock.now());
        reconciler.inventoryChanged(host);
      }),
    );
    await reconciler.reconcileNow();
    expect(most).to.equal(1);
    expect(passes).to.be.below(20);
    for (const host of hosts) expect((await store.getPlan(host))?.serial, host).to.equal(1);
  });

  it('records a failed pass (Ready=False ReconcileFailed) and retries by itself', async () => {
    let failures = 1;
    const flaky: Store = Object.create(store) as Store;
    flaky.savePlans = (...args) => {
      if (failures-- > 0) return Promise.reject(new Error('database is locked'));
      return store.savePlans(...args);
    };
    await reconciler.stop();
    reconciler = make(corePlanning, flaky);
    reconciler.start();
    source.push('main@sha1:aaaa', valid);
    const failed = await reconciler.reconcileNow();
    expect(failed).to.include({ outcome: 'failed', error: 'database is locked' });
    expect(reconciler.status().conditions.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'ReconcileFailed' });
    expect(reconciler.status().conditions.find((c) => c.type === 'Reconciling')).to.include({ status: 'True', reason: 'ProgressingWithRetry' });
    const deadline = Date.now() + 10_000;
    while ((await store.getPlan('h1')) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await store.getPlan('h1'))?.serial).to.equal(1);
    expect(observed).to.include.members(['failed', 'applied']);
  });
});
