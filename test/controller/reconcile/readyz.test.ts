import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningController } from '../../../controller/controller.js';
import { startTestController } from '../../support/controller.js';
import { eventually } from '../../support/eventually.js';
import { makeGitFixture, type GitFixture } from '../source/git-fixture.js';

const fixture = (name: string) => readFile(new URL(`../../fixtures/controller/${name}/fleet.yaml`, import.meta.url), 'utf8');

describe('controller /readyz: ready once the applied revision’s plans are served', function () {
  this.timeout(60_000);
  let repo: GitFixture;
  let data: string;
  let controller: RunningController | undefined;

  beforeEach(async () => {
    repo = await makeGitFixture();
    data = await mkdtemp(join(tmpdir(), 'ferry-readyz-'));
  });
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    await repo.cleanup();
    await rm(data, { recursive: true, force: true });
  });

  const readyz = async (c: RunningController) => (await fetch(`${c.url}/readyz`)).status;

  it('is 503 while no revision was applied (the source is fetched, its revision rejected), 200 once one is, and 200 after a restart', async () => {
    await repo.commit({ 'fleet.yaml': await fixture('invalid') }, 'a broken first commit');
    controller = await startTestController({ data, repo: repo.origin });
    const c = controller;
    await eventually(() => c.reconciler()?.status().lastRun?.outcome === 'rejected', 'the first revision rejected');
    expect(c.reconciler()!.status().appliedRevision).to.equal(undefined);
    expect(await readyz(c)).to.equal(503);

    await repo.copy('valid');
    const good = await repo.commit({}, 'fixed');
    const admin = (await readFile(c.adminTokenFile, 'utf8')).trim();
    const refreshed = await fetch(`${c.url}/v1/source/refresh`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
    expect(refreshed.status).to.equal(200);
    expect(c.reconciler()!.status().appliedRevision).to.equal(`main@sha1:${good}`);
    expect(await readyz(c)).to.equal(200);

    // A restart on a store that holds applied plans: those are served at once, whatever the source's newest commit says.
    await c.stop();
    await repo.commit({ 'fleet.yaml': await fixture('invalid') }, 'broken again');
    controller = await startTestController({ data, repo: repo.origin });
    const d = controller;
    await eventually(() => d.reconciler()?.status().lastRun?.outcome === 'rejected', 'the new revision rejected');
    expect(await readyz(d)).to.equal(200);
  });
});
