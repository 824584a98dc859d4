/**
 * Prefetch (issue 11 §2): a real `ferry agent --relay` process polls its work with its own
 * credential and fetches, before any host asks, the content its served hosts' plans need whose
 * distribution window is open — and not the content of a deployment whose window opens later.
 * A host asking the relay for content its plan does not name gets 403 content-not-in-plan.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from '../agent/runtime/build.js';
import { action, packageFiles, startController, type TestController } from '../agent/runtime/fixture.js';
import { enroll, startUpstreamProxy, type UpstreamProxy } from '../agent/relay/upstream-proxy.js';
import { eventually } from '../support/eventually.js';
import { type RelayProcess, startRelayProcess } from './relay-process.js';

describe('relay end to end: prefetch in the distribution window', function () {
  this.timeout(120_000);
  let ctl: TestController;
  let proxy: UpstreamProxy;
  let work: string;
  let relay: RelayProcess | undefined;

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt();
  });
  beforeEach(async () => {
    ctl = await startController({ relays: [{ name: 'osaka', host: 'relay-osaka', url: 'http://relay-osaka:8470', served: new Set(['osaka-1', 'osaka-2']) }] });
    proxy = await startUpstreamProxy(ctl.url);
    work = await mkdtemp(join(tmpdir(), 'ferry-relay-prefetch-'));
  });
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
    await proxy.close();
    await ctl.close();
    await rm(work, { recursive: true, force: true });
  });

  it('fetches what open windows need before any host asks; content of a later window waits; a host reads only its plan', async () => {
    const now = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', 2 * 1024 * 1024));
    const later = await ctl.pushPackage('cam', '2.0.0', packageFiles('cam', '2.0.0', 1024 * 1024));
    const open = { multicast: false, wake: false, notBefore: '2026-01-01T00:00:00.000Z', windows: [{ start: '2026-01-01T00:00:00.000Z', end: '2099-01-01T00:00:00.000Z' }] };
    const auth1 = await enroll(ctl, ctl.url, 'osaka-1');
    await enroll(ctl, ctl.url, 'osaka-2');
    await ctl.setPlan('osaka-1', [action(now, { distribute: open })]);
    await ctl.setPlan('osaka-2', [
      action(now, { distribute: open }),
      action(later, { deployment: 'next', distribute: { multicast: false, wake: false, notBefore: '2099-01-01T00:00:00.000Z' } }),
    ]);

    relay = await startRelayProcess({
      listen: '127.0.0.1:0',
      server: proxy.url,
      token: await ctl.token(),
      name: 'relay-osaka',
      data: join(work, 'relay'),
      installRoot: join(work, 'relay-root'),
    });
    await eventually(() => proxy.content.some((c) => c.method === 'GET' && c.bytes === now.size) || undefined, 'the relay prefetches cad');
    const prefetched = relay.events.filter((e) => e['event'] === 'relay-prefetch').map((e) => [e['sha256'], e['hosts']]);
    expect(prefetched).to.deep.equal([[now.sha256, 2]]);
    expect(proxy.content.filter((c) => c.method === 'GET').map((c) => ({ status: c.status, bytes: c.bytes }))).to.deep.equal([{ status: 200, bytes: now.size }]);
    // Every upstream request of the relay's own (work poll, content) carried the relay's credential, not a host's.
    expect(proxy.auth.filter((a) => a.line.startsWith('POST /v1/hosts/relay-osaka/relay-work')).length).to.be.greaterThan(0);

    // osaka-1's plan passes through the relay; it may read cad, not cam.
    expect((await fetch(`${relay.url}/v1/hosts/osaka-1/plan`, { headers: { authorization: auth1 } })).status).to.equal(200);
    const refused = await fetch(`${relay.url}/v1/content/${later.sha256}`, { headers: { authorization: auth1 } });
    expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).to.deep.equal([403, 'content-not-in-plan']);
    const served = await fetch(`${relay.url}/v1/content/${now.sha256}`, { headers: { authorization: auth1 } });
    expect([served.status, (await served.arrayBuffer()).byteLength]).to.deep.equal([200, now.size]);
    // Still one upstream copy: the host's read was a cache hit.
    expect(proxy.content.filter((c) => c.method === 'GET').length).to.equal(1);
  });
});
