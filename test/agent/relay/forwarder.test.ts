/**
 * Hosts that reach only the relay: real agents (in process) whose `--server` is the relay, a real
 * controller API behind a proxy that counts and can cut the link. Enrollment, inventory, plans and
 * reports go through; with upstream cut the relay answers polls from the signed plans it holds
 * and queues reports in SQLite, across a restart, until upstream is back.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from '../../../agent/agent.js';
import { loadCredential } from '../../../agent/enroll/credential.js';
import { MemorySink } from '../../../agent/log/events.js';
import type { RelayServer } from '../../../agent/relay/relay-server.js';
import type { ContentSource } from '../../../core/plan/types.js';
import { action, type TestController, type TestPackage } from '../runtime/fixture.js';
import type { UpstreamProxy } from './upstream-proxy.js';
import { closeRelaySite, openRelaySite, relayIdentity, startSiteRelay } from './relay-site.js';

describe('relay: agent API forwarding, store and forward', function () {
  this.timeout(90_000);
  let ctl: TestController;
  let proxy: UpstreamProxy;
  let relay: RelayServer | undefined;
  let work: string;
  let pkg: TestPackage;
  const agents: Agent[] = [];

  const startRelay = async (port = 0) => {
    relay = await startSiteRelay({ ctl, proxy, work, pkg }, { port });
    return relay;
  };
  const openAgent = async (name: string, server: string) => {
    const agent = await Agent.open({
      server,
      dataDir: join(work, name),
      installRoot: join(work, name, 'root'),
      name,
      labels: {},
      facts: [],
      enrollToken: await ctl.token(),
      intervalMs: 60_000,
      shutdownCommand: ['true'],
      osPackages: false,
      events: new MemorySink(),
    });
    agents.push(agent);
    return agent;
  };
  const states = async (host: string) => (await ctl.store.currentStates({ host })).map((s) => ({ host: s.host, action: s.actionId, state: s.report.state }));
  const sources = (url: string): ContentSource[] => [
    { kind: 'relay', name: 'site', url },
    { kind: 'controller', name: 'controller' },
  ];

  beforeEach(async () => {
    ({ ctl, proxy, work, pkg } = await openRelaySite('ferry-relay-fw-', 2 * 1024 * 1024));
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.close();
    await closeRelaySite({ ctl, proxy, work, pkg }, relay);
    relay = undefined;
  });

  it('hosts whose --server is the relay enroll, poll, install and report through it; upstream sends one copy', async () => {
    const r = await startRelay();
    const hosts = ['osk-1', 'osk-2', 'osk-3'];
    const site = await Promise.all(hosts.map((h) => openAgent(h, r.url)));
    expect(await Promise.all(site.map((a) => a.runOnce()))).to.deep.equal([0, 0, 0]);
    for (const h of hosts) await ctl.setPlan(h, [action(pkg)], { sources: sources(r.url) });
    expect(await Promise.all(site.map((a) => a.runOnce()))).to.deep.equal([0, 0, 0]);
    const all = (await Promise.all(hosts.map(states))).flat();
    expect(all).to.deep.equal(hosts.map((host) => ({ host, action: 'dep/cad@1.0.0/install', state: 'installed' })));
    expect(proxy.content.filter((c) => c.method === 'GET').map((c) => ({ status: c.status, bytes: c.bytes }))).to.deep.equal([{ status: 200, bytes: pkg.size }]);
    const kinds = new Set(proxy.api.map((line) => line.replace(/\/v1\/hosts\/[^/]+\//, '/v1/hosts/H/').replace(/ \d+$/, '')));
    expect([...kinds].sort()).to.deep.equal(['GET /v1/hosts/H/plan', 'POST /v1/enroll', 'POST /v1/hosts/H/relay-work', 'POST /v1/hosts/H/reports', 'PUT /v1/hosts/H/inventory']);
  });

  it('upstream down: polls get the held signed plan (ETag/304), the site installs, reports queue on disk across a restart and arrive once', async () => {
    let r = await startRelay();
    const [a, b] = [await openAgent('osk-a', r.url), await openAgent('osk-b', r.url)];
    expect([await a.runOnce(), await b.runOnce()]).to.deep.equal([0, 0]);
    await ctl.setPlan('osk-a', [action(pkg)], { sources: sources(r.url) });
    const planB = await ctl.setPlan('osk-b', [action(pkg)], { sources: sources(r.url) });
    expect(await a.runOnce()).to.equal(0);
    // osk-b's plan passes through the relay once (as a poll would), then the link goes down.
    const authB = `Bearer ${(await loadCredential(join(work, 'osk-b')))!.credential}`;
    const first = await fetch(`${r.url}/v1/hosts/osk-b/plan`, { headers: { authorization: authB } });
    const etag = first.headers.get('etag')!;
    const signed = await first.text();
    proxy.down(true);

    const unchanged = await fetch(`${r.url}/v1/hosts/osk-b/plan`, { headers: { authorization: authB, 'if-none-match': etag } });
    const again = await fetch(`${r.url}/v1/hosts/osk-b/plan`, { headers: { authorization: authB } });
    const stranger = await fetch(`${r.url}/v1/hosts/osk-b/plan`, { headers: { authorization: 'Bearer someone-else' } });
    expect([unchanged.status, again.status, (await again.json()) as unknown, again.headers.get('etag'), stranger.status]).to.deep.equal([304, 200, JSON.parse(signed), etag, 503]);
    expect(JSON.parse(signed).serial).to.equal(planB.serial);

    // osk-b installs from what the relay holds; its inventory and reports wait in the relay's queue.
    expect(await b.runOnce()).to.equal(0);
    expect(await states('osk-b')).to.deep.equal([]);
    const queued = r.store.queueDepth();
    expect(queued).to.be.greaterThan(0);
    const metrics = await (await fetch(`${r.url}/metrics`)).text();
    expect(/^ferry_relay_queue_depth (\d+)$/m.exec(metrics)?.[1]).to.equal(String(queued));
    // The queue names the host and keeps no credential: nothing on the relay's disk holds osk-b's.
    const onDisk = Buffer.concat(await Promise.all(['relay.db', 'relay.db-wal'].map((f) => readFile(join(work, 'relay', f)).catch(() => Buffer.alloc(0)))));
    expect(onDisk.includes(authB.replace(/^Bearer /, ''))).to.equal(false);

    // A restart (same data directory) keeps the queue; once upstream is back it drains, once.
    await r.close();
    r = await startRelay();
    expect(r.store.queueDepth()).to.equal(queued);
    proxy.down(false);
    await r.forwarder.drained();
    expect(await states('osk-b')).to.deep.equal([{ host: 'osk-b', action: 'dep/cad@1.0.0/install', state: 'installed' }]);
    expect(proxy.api.filter((l) => l.startsWith('POST /v1/hosts/osk-b/reports')).every((l) => l.endsWith(' 200'))).to.equal(true);
    expect(proxy.auth.filter((a) => a.line.startsWith('POST /v1/hosts/osk-b/reports')).map((a) => a.authorization)).to.include(`Bearer ${(await relayIdentity(ctl)).credential}`);
    expect(proxy.content.filter((c) => c.method === 'GET').length).to.equal(1);
  });
});
