/**
 * A hostile relay: an HTTP server in front of a real controller API that a real agent (in process)
 * uses as its `--server`, and that tampers with what it forwards — it adds an action to the signed
 * plan, replays an older genuine plan, or flips a byte of the content. The agent refuses the plan
 * (signature, rollback) and runs nothing from it, and takes the content from the next source.
 */
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../agent/agent.js';
import { MemorySink } from '../../agent/log/events.js';
import type { Plan } from '../../core/plan/types.js';
import { action, packageFiles, startController, type TestController } from '../agent/runtime/fixture.js';

type Tamper = { kind: 'add-action'; extra: Plan['actions'][number] } | { kind: 'replay'; signed: string } | { kind: 'flip-content' } | { kind: 'none' };

interface Relay {
  readonly url: string;
  tamper: Tamper;
  /** Plans and content bodies it altered. */
  altered: number;
  close(): Promise<void>;
}

/** Forwards every request to `upstream`, altering plan and content bodies as `tamper` says. */
async function startHostileRelay(upstream: string): Promise<Relay> {
  const relay: Relay = { url: '', tamper: { kind: 'none' }, altered: 0, close: async () => undefined };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'if-none-match', 'connection', 'content-length'].includes(k))) as Record<
      string,
      string
    >;
    const up = await fetch(`${upstream}${req.url}`, { method: req.method!, headers, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) });
    let body = Buffer.from(await up.arrayBuffer());
    const t = relay.tamper;
    if (req.method === 'GET' && /\/plan$/.test(req.url ?? '') && up.status === 200 && t.kind !== 'none' && t.kind !== 'flip-content') {
      const plan = JSON.parse(body.toString('utf8')) as Plan;
      body = Buffer.from(t.kind === 'replay' ? t.signed : JSON.stringify({ ...plan, actions: [...plan.actions, t.extra] }));
      relay.altered++;
    }
    if (req.url?.startsWith('/v1/content/') && up.status < 300 && t.kind === 'flip-content' && body.length > 100) {
      body[100]! ^= 1;
      relay.altered++;
    }
    const out: Record<string, string> = {};
    up.headers.forEach((v, k) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'etag'].includes(k)) out[k] = v;
    });
    res.writeHead(up.status, { ...out, 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(relay, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

describe('fault: a hostile relay', function () {
  this.timeout(60_000);
  let ctl: TestController;
  let relay: Relay;
  let work: string;
  let token: string;
  const host = 'site-1';

  beforeEach(async () => {
    ctl = await startController();
    relay = await startHostileRelay(ctl.url);
    work = await mkdtemp(join(tmpdir(), 'ferry-fault-relay-'));
    token = await ctl.token();
  });
  afterEach(async () => {
    await relay.close();
    await ctl.close();
    await rm(work, { recursive: true, force: true });
  });

  async function once(): Promise<number> {
    const agent = await Agent.open({
      server: relay.url,
      dataDir: join(work, 'data'),
      installRoot: join(work, 'root'),
      name: host,
      labels: {},
      facts: [],
      enrollToken: token,
      intervalMs: 1000,
      shutdownCommand: ['true'],
      osPackages: false,
      events: new MemorySink(),
    });
    try {
      return await agent.runOnce();
    } finally {
      await agent.close();
    }
  }
  const runs = (name: string) =>
    readFile(join(work, 'root', `${name}.runs`), 'utf8').then(
      (t) => t.trim().split('\n'),
      () => [] as string[],
    );
  const planState = async () => (await ctl.store.currentStates({ host })).find((s) => s.actionId === 'plan')?.report;

  it('an action added to the signed plan: the plan is refused, reported through the relay, and nothing of it runs', async () => {
    const p = await ctl.pushPackage('app', '1.0.0', packageFiles('app', '1.0.0'));
    const evil = await ctl.pushPackage('evil', '6.6.6', packageFiles('evil', '6.6.6'));
    await ctl.setPlan(host, [action(p)]);
    relay.tamper = { kind: 'add-action', extra: action(evil) };
    expect(await once()).to.equal(1);
    expect(relay.altered).to.be.greaterThan(0);
    expect((await planState())?.reason).to.match(/signature does not match/);
    expect(await runs('evil')).to.deep.equal([]);
    expect(await runs('app')).to.deep.equal([]);
    relay.tamper = { kind: 'none' };
    expect(await once()).to.equal(0);
    expect(await runs('app')).to.deep.equal(['1.0.0']);
    expect(await runs('evil')).to.deep.equal([]);
  });

  it('an older genuine plan replayed: refused as a rollback; the newer plan stays in force', async () => {
    const p = await ctl.pushPackage('app', '1.0.0', packageFiles('app', '1.0.0'));
    const q = await ctl.pushPackage('tool', '2.0.0', packageFiles('tool', '2.0.0'));
    await ctl.setPlan(host, [action(p, { op: 'install' })]);
    const old = (await ctl.store.getSignedPlan(host))!.signed;
    await ctl.setPlan(host, [action(p), action(q)]);
    expect(await once()).to.equal(0);
    relay.tamper = { kind: 'replay', signed: old };
    expect(await once()).to.equal(1);
    expect((await planState())?.reason).to.match(/rollback: plan serial 1 is lower than the applied serial 2/);
    expect(await runs('tool')).to.deep.equal(['2.0.0']);
  });

  it('content altered by the relay: refused by sha256, taken from the controller, installed once', async () => {
    const p = await ctl.pushPackage('fonts', '1.0.0', packageFiles('fonts', '1.0.0', 50_000));
    await ctl.setPlan(host, [action(p)], {
      sources: [
        { kind: 'relay', name: 'hostile', url: relay.url },
        { kind: 'controller', name: 'controller', url: ctl.url },
      ],
    });
    relay.tamper = { kind: 'flip-content' };
    expect(await once()).to.equal(0);
    expect(relay.altered).to.be.greaterThan(0);
    const downloaded = (await ctl.store.history(host, 'dep/fonts@1.0.0/install')).find((r) => r.state === 'downloaded');
    expect(downloaded?.reason).to.match(/^sha256 verified; from controller after: hostile: sha256 mismatch/);
    expect(await runs('fonts')).to.deep.equal(['1.0.0']);
  });
});
