/**
 * `startController` end to end (in process, real git, real HTTP): content ingestion and pushed
 * content, group membership for the dashboard, and a refresh asked of a follower replica.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import type { Plan } from '../../core/plan/types.js';
import { startController, type ControllerOptions, type RunningController } from '../../controller/controller.js';
import { runFerry } from '../support/ferry.js';
import { eventually, makeGitFixture, type GitFixture } from './source/git-fixture.js';
import { systemClock } from '../../lib/clock.js';

const logger = pino({ level: 'silent' });
const clock = systemClock;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const postgres = process.env.FERRY_TEST_POSTGRES;

function pkg(name: string, body: string, source?: string): string {
  const artifact = `{sha256: ${sha(body)}, size: ${Buffer.byteLength(body)}${source ? `, source: ${source}` : ''}}`;
  return `apiVersion: ferry/v1\nkind: Package\nmetadata: {name: ${name}}\nspec:\n  version: "1.0.0"\n  artifact: ${artifact}\n  install: {command: [sh, install.sh]}\n---\n`;
}
const fleet = (hosts: string) =>
  `apiVersion: ferry/v1\nkind: Group\nmetadata: {name: lab}\nspec: {hosts: [${hosts}]}\n---\n` +
  'apiVersion: ferry/v1\nkind: Deployment\nmetadata: {name: apps}\nspec:\n  packages: [{name: hello, version: "1.0.0"}, {name: tool, version: "1.0.0"}]\n  targets: {groups: [lab]}\n';

async function call(url: string, token: string, method = 'GET', body?: unknown, raw?: Buffer): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : raw ? { body: raw } : {}) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

describe('controller content, groups and follower refresh (in process)', function () {
  this.timeout(90_000);
  let repo: GitFixture;
  let root: string;
  const running: RunningController[] = [];

  beforeEach(async () => {
    repo = await makeGitFixture();
    root = await mkdtemp(join(tmpdir(), 'ferry-ctl-content-'));
  });
  afterEach(async () => {
    for (const c of running.splice(0).reverse()) await c.stop();
    await repo.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  async function start(name: string, extra: Partial<ControllerOptions> = {}): Promise<{ c: RunningController; admin: string }> {
    const data = join(root, name);
    const c = await startController({
      repo: repo.origin,
      branch: 'main',
      db: `sqlite:${join(data, 'ferry.db')}`,
      data,
      listen: '127.0.0.1:0',
      pollMs: 3_600_000,
      logger,
      clock,
      ...extra,
    });
    running.push(c);
    return { c, admin: (await readFile(join(data, 'admin.token'), 'utf8')).trim() };
  }

  const actionsOf = async (c: RunningController, host: string) =>
    Object.fromEntries((JSON.parse((await c.store.getPlan(host))!.signed!) as Plan).actions.map((a) => [a.package, a.status === 'blocked' ? `blocked: ${a.reason}` : a.status]));

  it('ingests repository artifacts, blocks what is missing with the reason, and plans it once pushed; groups reach the admin API', async () => {
    const head = await repo.commit({
      'packages.yaml': pkg('hello', 'hello', 'artifacts/hello.tar.gz') + pkg('tool', 'tool!'),
      'fleet.yaml': fleet('h1, h2'),
      'artifacts/hello.tar.gz': 'hello',
    });
    const { c, admin } = await start('a');
    const pushReason = 'not in the content store; push it with `ferry package push FILE`';
    const status = await eventually(async () => {
      const s = await call(`${c.url}/v1/status`, admin);
      return s.body?.source?.lastAppliedRevision === `main@sha1:${head}` && s.body;
    }, 'the first revision to apply');
    expect(status.content).to.deep.equal({ revision: `main@sha1:${head}`, unavailable: [{ sha256: sha('tool!'), packages: ['tool@1.0.0'], reason: pushReason }] });
    expect(await actionsOf(c, 'h1')).to.deep.equal({ hello: 'planned', tool: `blocked: content unavailable: ${pushReason}` });
    const served = await call(`${c.url}/v1/content/${sha('hello')}`, admin);
    expect(served).to.deep.equal({ status: 200, body: 'hello' });

    const cli = await runFerry(['status'], { env: { FERRY_SERVER: c.url, FERRY_TOKEN: admin } });
    expect(cli.stdout).to.include(`Content unavailable (1; installs of it are blocked):\n  tool@1.0.0: ${pushReason}\n`);

    // `ferry package push`: the upload triggers a pass; the install is planned.
    const put = await call(`${c.url}/v1/content/${sha('tool!')}`, admin, 'PUT', undefined, Buffer.from('tool!'));
    expect(put.status).to.equal(201);
    await eventually(async () => (await actionsOf(c, 'h1')).tool === 'planned', 'the pushed content to be planned');
    expect((await call(`${c.url}/v1/status`, admin)).body.content).to.deep.equal({ revision: `main@sha1:${head}`, unavailable: [] });

    // Group membership of the applied revision, for the dashboard's filter and a host's page.
    const token = await call(`${c.url}/v1/tokens`, admin, 'POST', {});
    const enrolled = await call(`${c.url}/v1/enroll`, '', 'POST', { token: token.body.token, host: 'h1', facts: {}, labels: {} });
    expect(enrolled.status).to.equal(201);
    const report = await call(`${c.url}/v1/hosts/h1/reports`, enrolled.body.credential, 'POST', {
      results: [{ id: 'h1-1', actionId: 'apps/hello@1.0.0/install', serial: 1, state: 'installed', at: new Date().toISOString() }],
    });
    expect(report.status, JSON.stringify(report.body)).to.equal(200);
    const byGroup = await call(`${c.url}/v1/deployments/apps?group=lab`, admin);
    expect(byGroup.status, JSON.stringify(byGroup.body)).to.equal(200);
    expect(byGroup.body.groups).to.deep.equal(['lab']);
    // Every targeted host with a plan is listed: h2 has not reported, so its actions are pending.
    expect(byGroup.body.hosts.items.map((h: { host: string; state: string }) => [h.host, h.state])).to.deep.equal([
      ['h1', 'pending'],
      ['h2', 'pending'],
    ]);
    expect(byGroup.body.counts).to.deep.equal({ installed: 1, pending: 3 });
    expect((await call(`${c.url}/v1/deployments/apps?group=nope`, admin)).body.error.code).to.equal('unknown-group');
    expect((await call(`${c.url}/v1/hosts/h1`, admin)).body.groups).to.deep.equal(['lab']);

    // A commit that moves h1 out of the group: membership follows the applied revision.
    const next = await repo.commit({ 'fleet.yaml': fleet('h2') });
    await call(`${c.url}/v1/source/refresh`, admin, 'POST');
    expect(c.reconciler()?.status().appliedRevision).to.equal(`main@sha1:${next}`);
    expect((await call(`${c.url}/v1/hosts/h1`, admin)).body.groups).to.deep.equal([]);
  });

  describe('on PostgreSQL', () => {
    const schema = `ferry_refresh_${process.pid}_${Date.now() % 100000}`;
    before(function () {
      if (!postgres) this.skip();
    });
    after(async () => {
      if (!postgres) return;
      const client = new pg.Client({ connectionString: postgres });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    });

    it('@postgres a refresh (and pushed content) asked of a follower reaches the leader through the database', async () => {
      await repo.commit({ 'packages.yaml': pkg('hello', 'hello') + pkg('tool', 'tool!'), 'fleet.yaml': fleet('h1') });
      const db = postgres!;
      const options = { db, storeOptions: { schema }, leaderIntervalMs: 500, leaderRequestPollMs: 200 } as const;
      const leader = await start('leader', options);
      const follower = await start('follower', options);
      expect([leader.c.isLeader(), follower.c.isLeader()]).to.deep.equal([true, false]);
      await eventually(async () => (await leader.c.store.getSourceStatus()).lastAppliedRevision !== undefined, 'the leader to apply');

      const next = await repo.commit({ 'fleet.yaml': fleet('h1, h2') });
      const refreshed = await call(`${follower.c.url}/v1/source/refresh`, follower.admin, 'POST');
      expect(refreshed.status).to.equal(200);
      // The follower answers once the leader has fetched and reconciled the new commit.
      expect(refreshed.body.source.lastAppliedRevision).to.equal(`main@sha1:${next}`);
      expect(refreshed.body.source.fetch).to.deep.equal({ leader: false });
      expect((await leader.c.store.getPlan('h2'))?.revision).to.equal(`main@sha1:${next}`);

      // Content pushed through the follower (replicas sharing the content directory): the leader checks again.
      expect(await actionsOf(leader.c, 'h1')).to.deep.include({ tool: 'blocked: content unavailable: not in the content store; push it with `ferry package push FILE`' });
      const shared = join(root, 'leader', 'content', sha('tool!').slice(0, 2));
      await mkdir(shared, { recursive: true });
      await writeFile(join(shared, sha('tool!')), 'tool!');
      const put = await call(`${follower.c.url}/v1/content/${sha('tool!')}`, follower.admin, 'PUT', undefined, Buffer.from('tool!'));
      expect(put.status).to.equal(201);
      await eventually(async () => (await actionsOf(leader.c, 'h1')).tool === 'planned', 'the leader to see the pushed content');
    });
  });
});
