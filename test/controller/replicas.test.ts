/**
 * Three `ferry controller` processes on one PostgreSQL schema (DESIGN §6): one leads by advisory
 * lock, all serve agents. Kill -9 the leader while agents poll and report through the followers:
 * every poll is still answered, a follower takes over, and every report a replica acknowledged is
 * in the database. Needs the built CLI (`npx tsc -p .`) and FERRY_TEST_POSTGRES. Then, in process:
 * the signals between replicas (LISTEN/NOTIFY), and content fetched from a peer replica.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { startController, type ControllerOptions, type RunningController } from '../../controller/controller.js';
import { LeaderRequests } from '../../controller/leader-requests.js';
import { openStore } from '../../controller/store/index.js';
import { hostSignals, plansSignal, signalChannel, type ReplicaSignal } from '../../controller/store/replica-signals.js';
import type { Store } from '../../controller/store/store.js';
import { systemClock } from '../../lib/clock.js';
import { ferryBin } from '../support/ferry.js';
import { eventually, makeGitFixture, type GitFixture } from './source/git-fixture.js';

const postgres = process.env.FERRY_TEST_POSTGRES;

interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  url?: string;
}

function spawnReplica(name: string, args: string[]): Replica {
  const child = spawn(process.execPath, [ferryBin, 'controller', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const replica: Replica = { name, child, lines: [] };
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const m = /listening on (http:\/\/\S+)/.exec(d);
    if (m) replica.url = m[1];
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      try {
        replica.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        replica.lines.push({ msg: line });
      }
    }
  });
  return replica;
}

const said = (r: Replica, text: string) => r.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith(text));

async function call(url: string, method: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; etag: string | null }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, etag: res.headers.get('etag') };
}

describe('controller replicas (three processes on one PostgreSQL)', function () {
  this.timeout(180_000);
  const schema = `ferry_replicas_${process.pid}_${Date.now() % 100000}`;
  let repo: GitFixture;
  let root: string;
  const replicas: Replica[] = [];

  before(async function () {
    if (!postgres) this.skip();
    const built = await stat(new URL('../../dist/controller/controller.js', import.meta.url)).catch(() => undefined);
    if (!built) throw new Error('dist/ is not built: run `npx tsc -p .` before the @postgres replica test');
  });
  beforeEach(async () => {
    repo = await makeGitFixture();
    root = await mkdtemp(join(tmpdir(), 'ferry-replicas-'));
  });
  afterEach(async () => {
    for (const r of replicas.splice(0)) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        r.child.kill('SIGKILL');
        await new Promise((ok) => r.child.once('exit', ok));
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

  it('@postgres kill -9 the leader under load: polls keep being answered, a follower takes over, no acknowledged report is lost', async () => {
    await repo.copy('valid');
    await repo.commit({});
    const db = `${postgres}${postgres!.includes('?') ? '&' : '?'}options=-c%20search_path%3D${schema}`;
    const client = new pg.Client({ connectionString: postgres });
    await client.connect();
    await client.query(`create schema if not exists "${schema}"`);
    await client.end();
    const args = (name: string) => ['--repo', repo.origin, '--db', db, '--data', join(root, name), '--listen', '127.0.0.1:0', '--poll', '1h', '--enroll-rate', '600'];

    const a = spawnReplica('a', args('a'));
    replicas.push(a);
    await eventually(() => said(a, 'leader: elected') && a.url !== undefined, 'the first replica to lead', 30_000);
    // Replicas share the signing key and the admin token (docs/controller.md).
    for (const name of ['b', 'c']) {
      await mkdir(join(root, name), { recursive: true });
      for (const f of ['controller.key', 'admin.token']) await copyFile(join(root, 'a', f), join(root, name, f));
    }
    const [b, c] = [spawnReplica('b', args('b')), spawnReplica('c', args('c'))];
    replicas.push(b, c);
    await eventually(() => b.url !== undefined && c.url !== undefined, 'the followers to listen', 30_000);
    const admin = (await readFile(join(root, 'a', 'admin.token'), 'utf8')).trim();

    // Three hosts enroll through one follower and report inventory through the other; the leader
    // plans them although it fetches git only once an hour (the followers ask it through the database).
    const token = (await call(`${b.url}/v1/tokens`, 'POST', admin, {})).json.token as string;
    const hosts = ['h1', 'h2', 'h3'];
    const credentials = new Map<string, string>();
    for (const host of hosts) {
      const enrolled = await call(`${b.url}/v1/enroll`, 'POST', '', { token, host, facts: {}, labels: {} });
      expect(enrolled.status).to.equal(201);
      credentials.set(host, enrolled.json.credential);
      const inv = await call(`${c.url}/v1/hosts/${host}/inventory`, 'PUT', enrolled.json.credential, { facts: { os: { platform: 'linux' } }, labels: {}, software: [] });
      expect(inv.status).to.equal(200);
    }
    // Every replica serves every host's plan; each poller keeps the ETag it was given.
    const etags = new Map<string, string>();
    for (const r of [a, b, c]) {
      for (const host of hosts) {
        const first = await eventually(
          async () => {
            const p = await call(`${r.url}/v1/hosts/${host}/plan`, 'GET', credentials.get(host)!);
            return p.status === 200 && p;
          },
          `the plan of ${host} from replica ${r.name}`,
          30_000,
        );
        etags.set(`${r.name}/${host}`, first.etag!);
      }
    }

    // One more host, once the leader's first passes are over: only the followers' signals get it planned.
    const late = await call(`${b.url}/v1/enroll`, 'POST', '', { token, host: 'h4', facts: {}, labels: {} });
    expect(late.status).to.equal(201);
    expect((await call(`${c.url}/v1/hosts/h4/inventory`, 'PUT', late.json.credential, { facts: {}, labels: {}, software: [] })).status).to.equal(200);
    await eventually(async () => (await call(`${c.url}/v1/hosts/h4/plan`, 'GET', late.json.credential)).status === 200, 'the plan of h4', 30_000);

    // Load on the followers: polls with ETags and reports, until told to stop.
    let stop = false;
    const acknowledged: { host: string; id: string }[] = [];
    const unanswered: string[] = [];
    let polls = 0;
    let n = 0;
    const load = async (r: Replica): Promise<void> => {
      while (!stop) {
        for (const host of hosts) {
          const cred = credentials.get(host)!;
          const p = await call(`${r.url}/v1/hosts/${host}/plan`, 'GET', cred, undefined, { 'if-none-match': etags.get(`${r.name}/${host}`)! }).catch((e: Error) => ({
            status: 0,
            etag: e.message,
          }));
          polls++;
          if (p.status !== 304 && p.status !== 200) unanswered.push(`${r.name}/${host}: ${p.status}`);
          const id = `${r.name}-${n++}`;
          const at = new Date().toISOString();
          const rep = await call(`${r.url}/v1/hosts/${host}/reports`, 'POST', cred, {
            results: [{ id, actionId: 'hello-lab/hello@1.0.0/install', serial: 1, state: 'downloading', at }],
          }).catch(() => ({ status: 0 }));
          if (rep.status === 200) acknowledged.push({ host, id });
        }
      }
    };
    const running = [load(b), load(c)];
    await eventually(() => acknowledged.length >= 30, 'reports acknowledged before the kill', 30_000);
    a.child.kill('SIGKILL');
    const pollsAtKill = polls;
    await eventually(() => said(b, 'leader: elected') || said(c, 'leader: elected'), 'a follower to take over', 60_000);
    await eventually(() => polls >= pollsAtKill + 60, 'polls after the take-over', 30_000);
    stop = true;
    await Promise.all(running);

    expect(unanswered).to.deep.equal([]);
    expect([b, c].filter((r) => said(r, 'leader: elected')).length).to.equal(1);
    const store = await openStore(db);
    try {
      const stored = new Set<string>();
      for (const host of hosts) for (const r of await store.history(host)) stored.add(`${host}/${r.id}`);
      const lost = acknowledged.filter((x) => !stored.has(`${x.host}/${x.id}`));
      expect({ acknowledged: acknowledged.length > 60, lost }).to.deep.equal({ acknowledged: true, lost: [] });
    } finally {
      await store.close();
    }
  });
});

const logger = pino({ level: 'silent' });
/** Sends until `done()`: the listening connection comes up in the background, so the first signals may go unheard. */
const sendUntil = (send: () => Promise<unknown>, done: () => boolean, what: string) =>
  eventually(
    async () => {
      await send();
      return done();
    },
    what,
    20_000,
    200,
  );
const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

describe('replica signals and peer content (in process, one PostgreSQL schema)', function () {
  this.timeout(90_000);
  const schema = `ferry_signals_${process.pid}_${Date.now() % 100000}`;
  const stores: Store[] = [];
  const controllers: RunningController[] = [];
  let root: string;
  let repo: GitFixture;

  before(function () {
    if (!postgres) this.skip();
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-peers-'));
    repo = await makeGitFixture();
  });
  afterEach(async () => {
    for (const c of controllers.splice(0).reverse()) await c.stop();
    for (const s of stores.splice(0)) await s.close();
    await repo?.cleanup();
    await rm(root, { recursive: true, force: true });
    if (postgres) {
      const client = new pg.Client({ connectionString: postgres });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  });

  const open = async () => {
    const s = await openStore(postgres!, { schema });
    stores.push(s);
    return s;
  };

  /** A controller on this schema with its own data folder; a follower shares the leader's key and admin token. */
  const startReplica = async (name: string, options: Partial<ControllerOptions> = {}) => {
    const data = join(root, name);
    await mkdir(data, { recursive: true });
    if (name !== 'leader') for (const f of ['controller.key', 'admin.token']) await copyFile(join(root, 'leader', f), join(data, f));
    const c = await startController({
      repo: repo.origin,
      branch: 'main',
      db: postgres!,
      storeOptions: { schema },
      data,
      listen: '127.0.0.1:0',
      pollMs: 3_600_000,
      logger,
      clock: systemClock,
      leaderIntervalMs: 500,
      ...options,
    });
    controllers.push(c);
    return c;
  };

  it("@postgres a follower's request reaches the leader at once by NOTIFY (its poll an hour away), also after the listening connection is killed", async () => {
    const [leaderStore, followerStore] = [await open(), await open()];
    const leader = new LeaderRequests(leaderStore, logger, 3_600_000);
    const follower = new LeaderRequests(followerStore, logger, 3_600_000);
    let served = 0;
    let resumed = 0;
    leaderStore.onReplicaSignal((s) => void (s.kind === 'resumed' && resumed++));
    await leader.start({ refresh: async () => undefined, content: async () => undefined, inventory: async () => void served++ });
    try {
      // The listening connection comes up in the background: ask until heard.
      await sendUntil(
        () => follower.request('inventory'),
        () => served > 0,
        'the leader to serve a request it was signalled',
      );
      const client = new pg.Client({ connectionString: postgres });
      await client.connect();
      const killed = await client.query('select pg_terminate_backend(pid) from pg_stat_activity where query = $1', [`listen ${signalChannel(schema)}`]);
      await client.end();
      expect(killed.rowCount).to.be.greaterThan(0);
      // Signals sent meanwhile are lost: once listening again, it says so (`resumed`), so receivers re-read.
      await eventually(() => resumed === 2, 'the leader to listen again and say so');
      const before = served;
      await sendUntil(
        () => follower.request('inventory'),
        () => served > before,
        'the leader to listen again after its connection was killed',
      );
    } finally {
      await leader.stop();
    }
  });

  it('@postgres the plans the leader raised are heard by the other replicas, not by the sender; a long list goes as a time', async () => {
    const [a, b] = [await open(), await open()];
    const heardByA: ReplicaSignal[] = [];
    const heardByB: ReplicaSignal[] = [];
    // Each hears `resumed` once its listening connection is up (its own, not sent): counted apart.
    let resumed = 0;
    a.onReplicaSignal((s) => (s.kind === 'resumed' ? resumed++ : heardByA.push(s)));
    b.onReplicaSignal((s) => (s.kind === 'resumed' ? resumed++ : heardByB.push(s)));
    await sendUntil(
      () => a.signalReplicas({ kind: 'plans', hosts: ['h1', 'h2'] }),
      () => heardByB.length > 0,
      'b to hear a',
    );
    expect(heardByB[0]).to.deep.equal({ kind: 'plans', hosts: ['h1', 'h2'] });
    await sendUntil(
      () => b.signalReplicas({ kind: 'leader-request' }),
      () => heardByA.length > 0,
      'a to hear b',
    );
    expect(heardByA.every((s) => s.kind === 'leader-request')).to.equal(true);
    expect(heardByB.every((s) => s.kind === 'plans')).to.equal(true);
    expect(resumed).to.equal(2);

    const many = Array.from({ length: 2000 }, (_, i) => `host-${i}`);
    const at = new Date('2026-01-02T03:04:05.000Z');
    expect(plansSignal(many, at)).to.deep.equal({ kind: 'plans', since: at.toISOString() });
    expect(plansSignal(many.slice(0, 10), at)).to.deep.equal({ kind: 'plans', hosts: many.slice(0, 10) });

    // Hosts whose inventories a follower stored: as many signals as payloads need, every host once, in order.
    const signals = hostSignals('inventories', many);
    expect(signals.length).to.be.greaterThan(1);
    expect(signals.every((s) => s.kind === 'inventories' && JSON.stringify(s).length < 8000)).to.equal(true);
    expect(signals.flatMap((s) => (s.kind === 'inventories' ? s.hosts : []))).to.deep.equal(many);
    expect(hostSignals('inventories', [])).to.deep.equal([]);
    expect(hostSignals('reports', many).flatMap((s) => (s.kind === 'reports' ? s.hosts : []))).to.deep.equal(many);
  });

  it('@postgres hosts enrolling through a follower are named to the leader, which plans them by name', async () => {
    await repo.commit({ 'fleet.yaml': 'apiVersion: ferry/v1\nkind: Group\nmetadata: {name: all}\nspec:\n  selector: {labels: {role: web}}\n' });
    const start = (name: string) => startReplica(name, { enrollRateLimit: { perMinute: 1000, burst: 1000 } });
    const leader = await start('leader');
    const follower = await start('follower');
    expect([leader.isLeader(), follower.isLeader()]).to.deep.equal([true, false]);
    const reconciler = leader.reconciler()!;
    const named: string[] = [];
    const inventoryChanged = reconciler.inventoryChanged.bind(reconciler);
    reconciler.inventoryChanged = (host) => {
      named.push(host);
      inventoryChanged(host);
    };
    // The leader's listening connection comes up in the background: name a host until it is heard.
    const probe = await open();
    await sendUntil(
      () => probe.signalReplicas({ kind: 'inventories', hosts: ['probe'] }),
      () => named.includes('probe'),
      'the leader to listen',
    );
    const admin = (await readFile(join(root, 'leader', 'admin.token'), 'utf8')).trim();
    const token = (await call(`${follower.url}/v1/tokens`, 'POST', admin, {})).json.token as string;
    const hosts = ['w1', 'w2', 'w3', 'w4', 'w5'];
    const credentials = await Promise.all(
      hosts.map(async (host) => {
        const enrolled = await call(`${follower.url}/v1/enroll`, 'POST', '', { token, host, facts: {}, labels: { role: 'web' } });
        expect(enrolled.status).to.equal(201);
        const credential = enrolled.json.credential as string;
        expect((await call(`${follower.url}/v1/hosts/${host}/inventory`, 'PUT', credential, { facts: {}, labels: { role: 'web' }, software: [] })).status).to.equal(200);
        return credential;
      }),
    );
    for (const [i, host] of hosts.entries()) {
      await eventually(async () => (await call(`${follower.url}/v1/hosts/${host}/plan`, 'GET', credentials[i]!)).status === 200, `the plan of ${host} from the follower`, 30_000);
    }
    // Each host named to the leader by the follower's signals, at most once for its enrollment and once for its inventory.
    const heard = named.filter((h) => h !== 'probe');
    expect([...new Set(heard)].sort()).to.deep.equal(hosts);
    expect(heard.length).to.be.at.most(2 * hosts.length);

    // Reports stored by the follower are named too: the leader reads the progress of a host in a rollout.
    const reported: string[] = [];
    const reportsIngested = reconciler.reportsIngested.bind(reconciler);
    reconciler.reportsIngested = (host) => {
      reported.push(host);
      reportsIngested(host);
    };
    const plan = (await call(`${follower.url}/v1/hosts/w2/plan`, 'GET', credentials[1]!)).json as { serial: number };
    const result = { id: 'r-w2-1', actionId: 'some/pkg@1.0.0/install', serial: plan.serial, state: 'installed', at: new Date().toISOString() };
    expect((await call(`${follower.url}/v1/hosts/w2/reports`, 'POST', credentials[1]!, { results: [result] })).status).to.be.oneOf([200, 202]);
    await eventually(() => reported.includes('w2'), 'the leader to hear of the report on w2', 30_000);
    expect(reported).to.deep.equal(['w2']);
  });

  it('@postgres replicas with their own content directories: each fetches what it lacks from a peer, verified', async () => {
    const artifact = (body: string, source?: string) =>
      `apiVersion: ferry/v1\nkind: Package\nmetadata: {name: p${sha(body).slice(0, 6)}}\nspec:\n  version: "1.0.0"\n  artifact: {sha256: ${sha(body)}, size: ${body.length}${source ? `, source: ${source}` : ''}}\n  install: {command: [sh, install.sh]}\n---\n`;
    const names = (bodies: string[]) => bodies.map((b) => `{name: p${sha(b).slice(0, 6)}, version: "1.0.0"}`).join(', ');
    const deployment = (bodies: string[]) =>
      'apiVersion: ferry/v1\nkind: Group\nmetadata: {name: lab}\nspec: {hosts: [h1]}\n---\n' +
      `apiVersion: ferry/v1\nkind: Deployment\nmetadata: {name: apps}\nspec:\n  packages: [${names(bodies)}]\n  targets: {groups: [lab]}\n`;
    await repo.commit({
      'packages.yaml': artifact('from the repository', 'artifacts/a.bin') + artifact('pushed to a follower') + artifact('tampered', 'artifacts/t.bin'),
      'fleet.yaml': deployment(['from the repository', 'pushed to a follower', 'tampered']),
      'artifacts/a.bin': 'from the repository',
      'artifacts/t.bin': 'tampered',
    });
    const start = (name: string) => startReplica(name);
    const leader = await start('leader');
    const follower = await start('follower');
    expect([leader.isLeader(), follower.isLeader()]).to.deep.equal([true, false]);
    const admin = (await readFile(join(root, 'leader', 'admin.token'), 'utf8')).trim();
    const get = (c: RunningController, s: string) => fetch(`${c.url}/v1/content/${s}`, { headers: { authorization: `Bearer ${admin}` } });
    const statusOf = async (s: string) => {
      const plan = await leader.store.getPlan('h1');
      return plan?.body.actions.find((a) => a.artifact.sha256 === s)?.status;
    };
    await eventually(async () => (await statusOf(sha('from the repository'))) === 'planned', 'the leader to ingest the repository artifact');

    // The leader ingested it; the follower has its own (empty) content directory and fetches it from the leader.
    const stored = join(root, 'follower', 'content', sha('from the repository').slice(0, 2), sha('from the repository'));
    expect(await stat(stored).catch(() => undefined)).to.equal(undefined);
    const res = await get(follower, sha('from the repository'));
    expect([res.status, await res.text()]).to.deep.equal([200, 'from the repository']);
    expect(await readFile(stored, 'utf8')).to.equal('from the repository');

    // Pushed to the follower: the leader, asked to check content again, fetches it from the follower and plans it.
    expect(await statusOf(sha('pushed to a follower'))).to.equal('blocked');
    const put = await fetch(`${follower.url}/v1/content/${sha('pushed to a follower')}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}` },
      body: 'pushed to a follower',
    });
    expect(put.status).to.equal(201);
    await eventually(async () => (await statusOf(sha('pushed to a follower'))) === 'planned', 'the leader to plan the content pushed to the follower');

    // A peer whose copy does not match: nothing is stored, the follower answers 404.
    const tampered = sha('tampered');
    await eventually(async () => (await statusOf(tampered)) === 'planned', 'the leader to ingest the second repository artifact');
    await writeFile(join(root, 'leader', 'content', tampered.slice(0, 2), tampered), 'tampereD');
    expect((await get(follower, tampered)).status).to.equal(404);
    expect(await stat(join(root, 'follower', 'content', tampered.slice(0, 2), tampered)).catch(() => undefined)).to.equal(undefined);
  });
});
