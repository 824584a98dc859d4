/**
 * A branch that cannot be fetched is a failure that shows (issue 15 item 5): the source's Ready
 * is False with the reason, refresh answers an error, `ferry status` exits 1, /metrics counts it;
 * the last good revision keeps serving, so /readyz stays 200.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningController } from '../../../controller/controller.js';
import { startTestController } from '../../support/controller.js';
import { runFerry } from '../../support/ferry.js';
import { callJson } from '../../support/http.js';
import { simpleGit } from 'simple-git';
import { makeGitFixture, type GitFixture } from './git-fixture.js';

describe('a source branch that cannot be fetched', function () {
  this.timeout(90_000);
  let repo: GitFixture;
  let data: string;
  let c: RunningController | undefined;

  beforeEach(async () => {
    repo = await makeGitFixture();
    data = await mkdtemp(join(tmpdir(), 'ferry-srcfail-'));
  });
  afterEach(async () => {
    await c?.stop();
    c = undefined;
    await repo.cleanup();
    await rm(data, { recursive: true, force: true });
  });

  it('shows Ready=False with the reason, answers refresh with 502, makes `ferry status` exit 1 and counts failures in /metrics', async () => {
    await repo.copy('valid');
    const good = await repo.commit({}, 'a lab fleet');
    c = await startTestController({ repo: repo.origin, data });
    const admin = (await readFile(join(data, 'admin.token'), 'utf8')).trim();
    const env = { FERRY_SERVER: c.url, FERRY_TOKEN: admin };
    const okRefresh = await callJson(c.url, 'POST', '/v1/source/refresh', admin);
    expect(okRefresh.status).to.equal(200);
    const okStatus = await runFerry(['status'], { env });
    expect(okStatus.code, okStatus.stdout + okStatus.stderr).to.equal(0);

    // The branch is renamed on the remote: main is gone, master has the same commits.
    await simpleGit(repo.origin).raw(['branch', '-m', 'main', 'master']);
    const refreshed = await callJson(c.url, 'POST', '/v1/source/refresh', admin);
    expect(refreshed.status).to.equal(502);
    expect(refreshed.body.error.code).to.equal('source-fetch-failed');
    expect(refreshed.body.error.message).to.equal(`fetching the source failed: no branch main in ${repo.origin}; the repository has: master (use --branch)`);

    const status = await callJson(c.url, 'GET', '/v1/status', admin);
    expect(status.body.source.fetch.source.condition).to.deep.equal({
      type: 'Ready',
      status: 'False',
      reason: 'FetchFailed',
      message: `no branch main in ${repo.origin}; the repository has: master (use --branch); the last good revision main@sha1:${good} still serves`,
    });
    // Serving still works: the last good revision's plans are in force.
    expect((await fetch(`${c.url}/readyz`)).status).to.equal(200);

    const text = await runFerry(['status'], { env });
    expect(text.code).to.equal(1);
    expect(text.stdout).to.contain('Ready: False (FetchFailed): no branch main');
    expect((await runFerry(['status', '--json'], { env })).code).to.equal(1);

    const metrics = await fetch(`${c.url}/metrics`).then((r) => r.text());
    expect(metrics).to.match(/^ferry_source_fetch_failures_total [1-9]\d*$/m);
    expect(metrics).to.match(/^ferry_source_last_success_timestamp_seconds \d+(\.\d+)?$/m);
  });

  it('a controller started on a branch the repository does not have names the branches it has', async () => {
    await repo.copy('valid');
    await repo.commit({}, 'on main');
    c = await startTestController({ repo: repo.origin, data, branch: 'trunk' });
    const admin = (await readFile(join(data, 'admin.token'), 'utf8')).trim();
    const status = await callJson(c.url, 'GET', '/v1/status', admin);
    expect(status.body.source.fetch.source.error.message).to.equal(`no branch trunk in ${repo.origin}; the repository has: main (use --branch)`);
    expect(status.body.source.fetch.source.condition).to.deep.include({ status: 'False', reason: 'FetchFailed' });
    // Nothing was ever read: not ready.
    expect((await fetch(`${c.url}/readyz`)).status).to.equal(503);
  });
});
