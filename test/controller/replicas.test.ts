/**
 * Three `ferry controller` processes on one PostgreSQL schema (DESIGN §6): one leads by advisory
 * lock, all serve agents. Kill -9 the leader while agents poll and report through the followers:
 * every poll is still answered, a follower takes over, and every report a replica acknowledged is
 * in the database. Needs the built CLI (`npx tsc -p .`) and FERRY_TEST_POSTGRES.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../../controller/store/index.js';
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

    // One more host, once the leader's first passes are over: only the followers' request gets it planned.
    const late = await call(`${b.url}/v1/enroll`, 'POST', '', { token, host: 'h4', facts: {}, labels: {} });
    expect(late.status).to.equal(201);
    expect((await call(`${c.url}/v1/hosts/h4/inventory`, 'PUT', late.json.credential, { facts: {}, labels: {}, software: [] })).status).to.equal(200);
    await eventually(async () => (await call(`${c.url}/v1/hosts/h4/plan`, 'GET', late.json.credential)).status === 200, 'the plan of h4', 30_000);
    expect(said(a, 'leader requests: serving a request from another replica')).to.equal(true);

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
