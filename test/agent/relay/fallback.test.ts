/**
 * A relay outage never stops a site (issue 11 §6): with the relay down a host installs from its
 * next source, the controller, and goes back to the relay once it returns; a relay whose cache has
 * no room answers 503 relay-cache-full and the host completes from the controller. Real agents,
 * a real relay, a real controller API; the relay's upstream is a counting proxy, so what went
 * through the relay and what went direct are told apart.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { Agent } from '../../../agent/agent.js';
import { MemorySink } from '../../../agent/log/events.js';
import type { RelayServer } from '../../../agent/relay/relay-server.js';
import type { ContentSource } from '../../../core/plan/types.js';
import { action, packageFiles, type TestController, type TestPackage } from '../runtime/fixture.js';
import type { UpstreamProxy } from './upstream-proxy.js';
import { closeRelaySite, openRelaySite, startSiteRelay } from './relay-site.js';

describe('relay: fallback to the controller', function () {
  this.timeout(90_000);
  let ctl: TestController;
  let proxy: UpstreamProxy;
  let relay: RelayServer | undefined;
  let work: string;
  let pkg: TestPackage;
  const agents: Agent[] = [];

  const openAgent = async (name: string) => {
    // The host talks to the controller directly; only its content sources list the relay first.
    const agent = await Agent.open({
      server: ctl.url,
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
  const sources = (url: string): ContentSource[] => [
    { kind: 'relay', name: 'site', url },
    { kind: 'controller', name: 'controller' },
  ];
  const states = async (host: string) => (await ctl.store.currentStates({ host })).map((s) => `${s.actionId} ${s.report.state}`).sort();
  /** Content GETs the controller answered with 200: `direct` from an agent, `relay` through the proxy. */
  const served = (viaRelay: number) => ({
    relay: proxy.content.filter((c) => c.method === 'GET' && c.status === 200).length,
    direct: ctl.content.filter((c) => c.status === 200).length - viaRelay,
  });

  beforeEach(async () => {
    ({ ctl, proxy, work, pkg } = await openRelaySite('ferry-relay-fb-', 1024 * 1024));
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.close();
    await closeRelaySite({ ctl, proxy, work, pkg }, relay);
    relay = undefined;
  });

  it('relay down: the host installs from the controller; relay back: the next artifact comes through the relay', async () => {
    relay = await startSiteRelay({ ctl, proxy, work, pkg });
    const url = relay.url;
    const port = Number(new URL(url).port);
    await relay.close();
    relay = undefined;
    const host = await openAgent('osk-a');
    expect(await host.runOnce()).to.equal(0);
    await ctl.setPlan('osk-a', [action(pkg)], { sources: sources(url) });
    expect(await host.runOnce()).to.equal(0);
    expect(await states('osk-a')).to.deep.equal(['dep/cad@1.0.0/install installed']);
    expect(served(0)).to.deep.equal({ relay: 0, direct: 1 });

    relay = await startSiteRelay({ ctl, proxy, work, pkg }, { port });
    const cam = await ctl.pushPackage('cam', '1.0.0', packageFiles('cam', '1.0.0', 512 * 1024));
    await ctl.setPlan('osk-a', [action(pkg), action(cam)], { sources: sources(url) });
    expect(await host.runOnce()).to.equal(0);
    expect(await states('osk-a')).to.deep.equal(['dep/cad@1.0.0/install installed', 'dep/cam@1.0.0/install installed']);
    // cam went controller → relay → host: one more GET through the proxy, none more direct.
    expect(served(1)).to.deep.equal({ relay: 1, direct: 1 });
  });

  it('a full relay cache answers 503 relay-cache-full; the host completes from the controller', async () => {
    relay = await startSiteRelay({ ctl, proxy, work, pkg }, { cacheBytes: pkg.size - 1 });
    const host = await openAgent('osk-b');
    expect(await host.runOnce()).to.equal(0);
    await ctl.setPlan('osk-b', [action(pkg)], { sources: sources(relay.url) });
    // What the relay answers the host's credential for this artifact.
    const { loadCredential } = await import('../../../agent/enroll/credential.js');
    const auth = `Bearer ${(await loadCredential(join(work, 'osk-b')))!.credential}`;
    const answer = await fetch(`${relay.url}/v1/content/${pkg.sha256}`, { headers: { authorization: auth } });
    expect([answer.status, ((await answer.json()) as { error: { code: string } }).error.code]).to.deep.equal([503, 'relay-cache-full']);
    expect(await host.runOnce()).to.equal(0);
    expect(await states('osk-b')).to.deep.equal(['dep/cad@1.0.0/install installed']);
    expect(served(0)).to.deep.equal({ relay: 0, direct: 1 });
  });
});
