/**
 * An operator override does not win forever (issue 15 item 3): a later change of
 * `spec.suspended` in git supersedes it, `--clear` removes it, and status says which is in
 * force and why. A real controller following a real git repository; the CLI as a process.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningController } from '../../../controller/controller.js';
import { startTestController } from '../../support/controller.js';
import { runFerry } from '../../support/ferry.js';
import { callJson } from '../../support/http.js';
import { makeGitFixture, type GitFixture } from '../source/git-fixture.js';

describe('operator overrides and git', function () {
  this.timeout(90_000);
  let repo: GitFixture;
  let data: string;
  let c: RunningController;
  let admin: string;
  let env: NodeJS.ProcessEnv;

  const deployment = async () => (await callJson(c.url, 'GET', '/v1/deployments/hello-lab', admin)).body.suspended;
  const suspendedInGit = async (value: boolean) => {
    const fleet = (await readFile(join(repo.work, 'fleet.yaml'), 'utf8')).replace(/\n {2}suspended: (true|false)\n/, '\n');
    await repo.commit(
      { 'fleet.yaml': fleet.replace('metadata: {name: hello-lab}\nspec:\n', `metadata: {name: hello-lab}\nspec:\n  suspended: ${value}\n`) },
      `suspended: ${value}`,
    );
    expect((await callJson(c.url, 'POST', '/v1/source/refresh', admin)).status).to.equal(200);
  };

  before(async () => {
    repo = await makeGitFixture();
    data = await mkdtemp(join(tmpdir(), 'ferry-override-'));
    await repo.copy('valid');
    await repo.commit({}, 'a lab fleet');
    c = await startTestController({ repo: repo.origin, data });
    admin = (await readFile(join(data, 'admin.token'), 'utf8')).trim();
    env = { FERRY_SERVER: c.url, FERRY_TOKEN: admin };
  });
  after(async () => {
    await c.stop();
    await repo.cleanup();
    await rm(data, { recursive: true, force: true });
  });

  it('after ferry suspend then ferry resume, committing suspended: true suspends it (git changed later)', async () => {
    expect((await runFerry(['suspend', 'hello-lab'], { env })).code).to.equal(0);
    const resumed = await runFerry(['resume', 'hello-lab'], { env });
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(resumed.stdout).to.match(
      /^hello-lab: active \(spec\.suspended: false; operator override: resumed by admin at \S+\)\n {2}in force: the override \(resumed by admin at \S+; git's spec\.suspended is still false\)\n$/,
    );

    await suspendedInGit(true);
    const view = await deployment();
    expect(view).to.deep.include({ spec: true, effective: true, inForce: 'git' });
    // The reconciler removed the superseded override.
    expect(await c.store.listOverrides()).to.deep.equal([]);
    const status = await runFerry(['status', 'hello-lab'], { env });
    expect(status.stdout).to.contain(
      "Deployment hello-lab: suspended (spec.suspended: true; no operator override)\n  in force: git's spec.suspended (spec.suspended: true in git, no override)",
    );
  });

  it('an override set after the git change is in force until git changes the field again', async () => {
    expect((await runFerry(['resume', 'hello-lab'], { env })).code).to.equal(0);
    expect(await deployment()).to.deep.include({ spec: true, effective: false, inForce: 'override' });
    // A commit that does not touch the field keeps the override.
    await repo.commit({ 'notes.txt': 'unrelated\n' }, 'unrelated');
    expect((await callJson(c.url, 'POST', '/v1/source/refresh', admin)).status).to.equal(200);
    expect(await deployment()).to.deep.include({ effective: false, inForce: 'override' });
    await suspendedInGit(false);
    expect(await deployment()).to.deep.include({ spec: false, effective: false, inForce: 'git' });
  });

  it('ferry suspend --clear (and resume --clear) removes the override; git applies again', async () => {
    expect((await runFerry(['suspend', 'hello-lab'], { env })).code).to.equal(0);
    expect(await deployment()).to.deep.include({ effective: true, inForce: 'override' });
    const cleared = await runFerry(['resume', '--clear', 'hello-lab'], { env });
    expect(cleared.code, cleared.stderr).to.equal(0);
    expect(cleared.stdout).to.match(/^hello-lab: override cleared; now active \(spec\.suspended: false; no operator override\)/);
    expect(await deployment()).to.deep.include({ spec: false, effective: false, inForce: 'git' });
    expect(await c.store.listOverrides()).to.deep.equal([]);
    const again = await runFerry(['suspend', '--clear', 'hello-lab'], { env });
    expect({ code: again.code, says: again.stderr.includes('has no operator override to clear') }).to.deep.equal({ code: 1, says: true });
  });
});
