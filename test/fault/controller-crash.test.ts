/**
 * The controller killed (SIGKILL, at the crash point `controller.reports.stored`, then by a plain
 * kill -9) during a flood of agent reports: after a restart, every report the controller had
 * acknowledged with a 2xx is stored, checked by id, and every batch is stored whole or not at all.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../controller/store/index.js';
import { ensureBuilt } from '../agent/runtime/build.js';
import { enrollHost, flood, makeManifests, startControllerProcess, type ControllerProcess, type FloodResult } from './report-flood.js';

describe('fault: the controller killed during a report flood', function () {
  this.timeout(120_000);
  let work: string;
  const procs: ControllerProcess[] = [];

  before(async function () {
    this.timeout(240_000);
    await ensureBuilt();
  });
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-fault-ctl-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** After a restart: the stored report ids of `host`, read from the controller's own database. */
  async function storedIds(host: string): Promise<Set<string>> {
    const store = await openStore(`sqlite:${join(work, 'data', 'ferry.db')}`);
    try {
      return new Set((await store.history(host)).map((r) => r.id));
    } finally {
      await store.close();
    }
  }

  function expectKept(result: FloodResult, stored: Set<string>): void {
    expect(
      [...result.acked].filter((id) => !stored.has(id)),
      'acknowledged but lost',
    ).to.deep.equal([]);
    const torn = result.batches.filter((b) => {
      const kept = b.ids.filter((id) => stored.has(id)).length;
      return kept !== 0 && kept !== b.ids.length;
    });
    expect(torn, 'batches stored in part').to.deep.equal([]);
  }

  const cases = [
    { name: 'at the crash point controller.reports.stored:25 (committed, not yet answered)', crashAt: 'controller.reports.stored:25' },
    { name: 'at the crash point controller.reports.received:25 (validated, not yet stored)', crashAt: 'controller.reports.received:25' },
  ];
  for (const c of cases) {
    it(`killed ${c.name}: every acknowledged report is stored after a restart`, async () => {
      const repo = await makeManifests(join(work, 'manifests'));
      const data = join(work, 'data');
      const first = await startControllerProcess({ data, repo, env: { FERRY_CRASH_AT: c.crashAt } });
      procs.push(first);
      const host = 'flood-1';
      const credential = await enrollHost(first.url, first.adminToken, host);
      const result = await flood({ url: () => first.url, host, credential, clients: 8, batchesPerClient: 10, batchSize: 20, onFailure: 'stop' });
      expect(await first.exited).to.deep.equal({ code: null, signal: 'SIGKILL' });
      expect(first.log()).to.contain(`crash point ${c.crashAt} reached`);
      expect(result.failures.length, 'requests cut off by the crash').to.be.greaterThan(0);
      expect(result.acked.size).to.be.greaterThan(0);

      const second = await startControllerProcess({ data, repo });
      procs.push(second);
      expect((await fetch(`${second.url}/healthz`)).status).to.equal(200);
      const stored = await storedIds(host);
      expectKept(result, stored);
      // The batch whose commit the crash cut from its answer is stored too (it was committed): the agent's resend is a duplicate.
      if (c.crashAt.startsWith('controller.reports.stored')) expect(stored.size).to.be.greaterThan(result.acked.size);
    });
  }

  it('kill -9 from outside mid-flood: every acknowledged report is stored after a restart', async () => {
    const repo = await makeManifests(join(work, 'manifests'));
    const data = join(work, 'data');
    const first = await startControllerProcess({ data, repo });
    procs.push(first);
    const host = 'flood-1';
    const credential = await enrollHost(first.url, first.adminToken, host);
    const result = await flood({
      url: () => first.url,
      host,
      credential,
      clients: 8,
      batchesPerClient: 10,
      batchSize: 20,
      onFailure: 'stop',
      onAck: (n) => {
        if (n === 30) first.child.kill('SIGKILL');
      },
    });
    expect(await first.exited).to.deep.equal({ code: null, signal: 'SIGKILL' });
    expect(result.failures.length).to.be.greaterThan(0);
    const second = await startControllerProcess({ data, repo });
    procs.push(second);
    expectKept(result, await storedIds(host));
  });
});
