import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import type { Plan } from '../../core/plan/types.js';
import { acceptPlan } from '../../core/signing/index.js';
import { startController, type RunningController } from '../../controller/controller.js';
import { signWebhookBody } from '../../controller/source/webhook.js';
import { openStore } from '../../controller/store/index.js';
import { ferryBin } from '../support/ferry.js';
import { eventually, makeGitFixture, type GitFixture } from './source/git-fixture.js';
import { systemClock } from '../../lib/clock.js';

const logger = pino({ level: 'silent' });
const clock = systemClock;

interface Json {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

async function call(url: string, init: { method?: string; token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Json> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.raw !== undefined) body = init.raw;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? 'GET', headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

describe('controller (in process: real git, SQLite, HTTP)', function () {
  this.timeout(60_000);
  let repo: GitFixture;
  let data: string;
  let controller: RunningController | undefined;

  beforeEach(async () => {
    repo = await makeGitFixture();
    data = await mkdtemp(join(tmpdir(), 'ferry-ctl-'));
  });
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    await repo.cleanup();
    await rm(data, { recursive: true, force: true });
  });

  async function start(extra: Partial<Parameters<typeof startController>[0]> = {}): Promise<RunningController> {
    controller = await startController({
      repo: repo.origin,
      branch: 'main',
      db: `sqlite:${join(data, 'ferry.db')}`,
      data,
      listen: '127.0.0.1:0',
      pollMs: 60_000,
      logger,
      clock,
      ...extra,
    });
    return controller;
  }

  it('follows git, serves signed plans to an enrolled host; a bad commit is not applied, a fix is', async () => {
    await repo.copy('valid');
    const good = await repo.commit({}, 'a lab fleet');
    const c = await start();
    expect(c.isLeader()).to.equal(true);
    const admin = (await readFile(join(data, 'admin.token'), 'utf8')).trim();
    expect((await stat(join(data, 'admin.token'))).mode & 0o777).to.equal(0o600);
    expect((await stat(join(data, 'controller.key'))).mode & 0o777).to.equal(0o600);
    expect((await call(`${c.url}/healthz`)).status).to.equal(200);
    await eventually(async () => (await call(`${c.url}/readyz`)).status === 200, 'readiness');

    const status = await eventually(async () => {
      const s = await call(`${c.url}/v1/status`, { token: admin });
      return s.body?.source?.lastAppliedRevision === `main@sha1:${good}` && s;
    }, 'the first revision to apply');
    expect(status.body.source.fetch.leader).to.equal(true);
    expect(status.body.source.fetch.source).to.include({ kind: 'git', ready: true, revision: `main@sha1:${good}` });

    // A host enrolls, reports its inventory, and gets a plan signed by the key it pinned.
    const token = await call(`${c.url}/v1/tokens`, { method: 'POST', token: admin, body: {} });
    expect(token.status).to.equal(201);
    const enrolled = await call(`${c.url}/v1/enroll`, { method: 'POST', body: { token: token.body.token, host: 'h1', facts: {}, labels: {} } });
    expect(enrolled.status).to.equal(201);
    const hostToken = enrolled.body.credential as string;
    const pinned = enrolled.body.controllerKey as string;
    const inv = await call(`${c.url}/v1/hosts/h1/inventory`, { method: 'PUT', token: hostToken, body: { facts: { os: { platform: 'linux' } }, labels: {}, software: [] } });
    expect(inv.status).to.be.within(200, 204);
    const first = await eventually(async () => {
      const r = await call(`${c.url}/v1/hosts/h1/plan`, { token: hostToken });
      return r.status === 200 && r;
    }, 'the plan of h1');
    const plan = first.body as Plan;
    expect(acceptPlan(plan, { publicKey: pinned, host: 'h1', now: new Date().toISOString() })).to.deep.equal({ ok: true });
    expect(plan).to.include({ host: 'h1', serial: 1, revision: `main@sha1:${good}` });
    expect(plan.actions.map((a) => a.id)).to.deep.equal(['hello-lab/hello@1.0.0/install']);
    const etag = first.headers.get('etag')!;

    // A broken commit: refresh says why, with FILE:LINE:COL; the plan does not change.
    const bad = await repo.commit({ 'fleet.yaml': await readFile(new URL('../fixtures/controller/invalid/fleet.yaml', import.meta.url), 'utf8') }, 'break it');
    const refreshed = await call(`${c.url}/v1/source/refresh`, { method: 'POST', token: admin });
    expect(refreshed.status).to.equal(200);
    const source = refreshed.body.source;
    expect(source.lastAppliedRevision).to.equal(`main@sha1:${good}`);
    expect(source.lastAttemptedRevision).to.equal(`main@sha1:${bad}`);
    expect(source.rejected.revision).to.equal(`main@sha1:${bad}`);
    expect(source.rejected.problems.map((p: { file: string; line: number; col: number }) => `${p.file}:${p.line}:${p.col}`)).to.deep.equal([
      'fleet.yaml:12:30',
      'fleet.yaml:13:27',
    ]);
    const ready = source.fetch.reconcile.conditions.find((x: { type: string }) => x.type === 'Ready');
    expect(ready).to.include({ status: 'False', reason: 'ValidationFailed' });
    expect((await call(`${c.url}/v1/hosts/h1/plan`, { token: hostToken, headers: { 'if-none-match': etag } })).status).to.equal(304);
    expect((await c.store.getPlan('h1'))?.serial).to.equal(1);

    // The fix: applied, the rejection cleared.
    await repo.copy('v2');
    const fixed = await repo.commit({}, 'fix it, and add an office deployment');
    const after = await call(`${c.url}/v1/source/refresh`, { method: 'POST', token: admin });
    expect(after.body.source).to.deep.include({ lastAppliedRevision: `main@sha1:${fixed}`, lastAttemptOk: true });
    expect(after.body.source.rejected).to.equal(undefined);
    // h1's plan content did not change: same serial, still 304.
    expect((await call(`${c.url}/v1/hosts/h1/plan`, { token: hostToken, headers: { 'if-none-match': etag } })).status).to.equal(304);
    expect((await c.store.getPlan('h3'))?.serial).to.equal(2);
  });

  it('a push webhook with a good signature fetches at once; a bad or missing one is refused', async () => {
    await writeFile(join(data, 'webhook.secret'), 'a-long-webhook-secret\n', { mode: 0o600 });
    const first = await repo.commit({ 'a.yaml': 'apiVersion: ferry/v1\nkind: Group\nmetadata: {name: a}\nspec: {hosts: [h1]}\n' });
    const c = await start({ webhookSecretFile: join(data, 'webhook.secret') });
    await eventually(() => c.reconciler()?.status().appliedRevision === `main@sha1:${first}`, 'the first revision');
    const second = await repo.commit({ 'a.yaml': 'apiVersion: ferry/v1\nkind: Group\nmetadata: {name: a}\nspec: {hosts: [h1, h2]}\n' });
    const payload = JSON.stringify({ ref: 'refs/heads/main', after: second });

    const missing = await call(`${c.url}/v1/source/webhook`, { method: 'POST', raw: payload, headers: { 'content-type': 'application/json' } });
    expect(missing.status).to.equal(401);
    const wrong = await call(`${c.url}/v1/source/webhook`, {
      method: 'POST',
      raw: payload,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody('another-secret', payload) },
    });
    expect(wrong.status).to.equal(401);
    expect(c.reconciler()?.status().appliedRevision).to.equal(`main@sha1:${first}`);

    const ok = await call(`${c.url}/v1/source/webhook`, {
      method: 'POST',
      raw: payload,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody('a-long-webhook-secret', payload) },
    });
    expect(ok.status).to.equal(202);
    await eventually(() => c.reconciler()?.status().appliedRevision === `main@sha1:${second}`, 'the pushed revision');
  });

  it('a restart on the same DATA keeps the key and the admin token and serves the same plans', async () => {
    await repo.copy('valid');
    await repo.commit({});
    const c = await start();
    await eventually(async () => (await c.store.getPlan('h1')) !== undefined, 'plans');
    const keys = c.keys;
    const before = await c.store.getPlan('h1');
    await c.stop();
    controller = undefined;
    const again = await start();
    expect(again.keys).to.deep.equal(keys);
    await eventually(() => again.reconciler()?.status().lastRun?.outcome === 'skipped' || again.reconciler()?.status().lastRun?.outcome === 'applied', 'a pass');
    expect(await again.store.getPlan('h1')).to.deep.equal(before);
  });

  it('watches a plain directory given as --repo', async () => {
    const dir = join(data, 'manifests');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    await writeFile(join(dir, 'a.yaml'), 'apiVersion: ferry/v1\nkind: Group\nmetadata: {name: a}\nspec: {hosts: [h1]}\n');
    const c = await start({ repo: dir, data: join(data, 'state') });
    await eventually(async () => (await c.store.getPlan('h1')) !== undefined, 'the plan of h1');
    expect(c.reconciler()?.status().appliedRevision).to.match(/^dir@sha256:[0-9a-f]{64}$/);
    await writeFile(join(dir, 'a.yaml'), 'apiVersion: ferry/v1\nkind: Group\nmetadata: {name: a}\nspec: {hosts: [h1, h2]}\n');
    await eventually(async () => (await c.store.getPlan('h2')) !== undefined, 'the plan of h2 after the edit');
  });
});

// ------------------------------------------------------------------ leader election, real processes

const postgres = process.env.FERRY_TEST_POSTGRES;

interface Proc {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly stdout: () => string;
}

function spawnController(args: string[]): Proc {
  const child = spawn(process.execPath, [ferryBin, 'controller', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let out = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  return { child, lines, stdout: () => out };
}

const said = (p: Proc, text: string) => p.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith(text));

describe('controller leader election (two processes on one PostgreSQL)', function () {
  this.timeout(120_000);
  const schema = `ferry_leader_${process.pid}_${Date.now() % 100000}`;
  let repo: GitFixture;
  let root: string;
  const procs: Proc[] = [];

  before(async function () {
    if (!postgres) this.skip();
    // Real processes run the built CLI (`npx tsc -p .`).
    const built = await stat(new URL('../../dist/controller/controller.js', import.meta.url)).catch(() => undefined);
    if (!built) throw new Error('dist/ is not built: run `npx tsc -p .` before the @postgres leader test');
  });
  beforeEach(async () => {
    repo = await makeGitFixture();
    root = await mkdtemp(join(tmpdir(), 'ferry-leader-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await new Promise((r) => p.child.once('exit', r));
      }
    }
    await repo?.cleanup();
    await rm(root, { recursive: true, force: true });
    if (postgres) {
      const client = new pg.Client({ connectionString: postgres });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  });

  it('@postgres exactly one reconciles; kill -9 the leader and the other takes over', async () => {
    await repo.copy('valid');
    await repo.commit({});
    const db = `${postgres}${postgres!.includes('?') ? '&' : '?'}options=-c%20search_path%3D${schema}`;
    const client = new pg.Client({ connectionString: postgres });
    await client.connect();
    await client.query(`create schema if not exists "${schema}"`);
    await client.end();

    const args = (name: string) => ['--repo', repo.origin, '--db', db, '--data', join(root, name), '--listen', '127.0.0.1:0', '--poll', '1s'];
    const a = spawnController(args('a'));
    procs.push(a);
    await eventually(() => said(a, 'leader: elected'), 'the first controller to lead', 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; it said: ${JSON.stringify(a.lines.slice(0, 6))} ${a.stdout()}`);
    });
    const b = spawnController(args('b'));
    procs.push(b);
    await eventually(() => said(b, 'controller: listening'), 'the second controller to listen', 30_000);

    const store = await openStore(db);
    try {
      await eventually(async () => (await store.getPlan('h1'))?.serial === 1, 'plans from the leader', 30_000);
      // The follower serves but neither follows git nor reconciles: its election check found the lock held.
      await eventually(() => said(b, 'leader: another controller leads; standing by'), 'the second controller to stand by', 30_000);
      expect(said(b, 'leader: elected')).to.equal(false);
      expect(b.lines.some((l) => l.component === 'reconcile' || l.component === 'source')).to.equal(false);

      a.child.kill('SIGKILL');
      await eventually(() => said(b, 'leader: elected'), 'the second controller to take over', 30_000);
      // The new leader follows git: a new commit reaches the plans.
      await repo.copy('v2');
      await repo.commit({}, 'office deployment');
      await eventually(async () => (await store.getPlan('h3'))?.serial === 2, 'the new leader to apply the next commit', 30_000);
    } finally {
      await store.close();
    }
  });
});
