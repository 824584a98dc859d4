/**
 * The relay credential on a real controller API (DESIGN §4): the relay's own host credential acts
 * for the hosts its Relay serves — plan, inventory, reports, content their plans need — and for
 * its work poll, and is refused with 403 for any other host. Content a host's plan does not name
 * is refused (403 content-not-in-plan), by the controller and by a relay.
 */
import { expect } from 'chai';
import { systemClock } from '../../../lib/clock.js';
import { RelayRegistry } from '../../../controller/api/relay-registry.js';
import { action, packageFiles, startController, type TestController, type TestPackage } from '../runtime/fixture.js';
import { enroll } from './upstream-proxy.js';

interface Answer {
  readonly status: number;
  readonly code?: string;
  readonly json: unknown;
}

async function call(url: string, authorization: string, method = 'GET', body?: unknown): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const code = (json as { error?: { code?: string } } | undefined)?.error?.code;
  return { status: res.status, ...(code ? { code } : {}), json };
}

describe('relay credential (controller side)', function () {
  this.timeout(60_000);
  let ctl: TestController;
  let cad: TestPackage;
  let cam: TestPackage;
  let relayAuth: string;
  let servedAuth: string;
  const registry = new RelayRegistry(systemClock);

  before(async () => {
    ctl = await startController({
      relays: [{ name: 'osaka', host: 'relay-osaka', url: 'http://relay-osaka:8470', served: new Set(['osk-a', 'osk-b']) }],
      relayRegistry: registry,
    });
    cad = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', 10_000));
    cam = await ctl.pushPackage('cam', '1.0.0', packageFiles('cam', '1.0.0', 10_000));
    relayAuth = await enroll(ctl, ctl.url, 'relay-osaka');
    servedAuth = await enroll(ctl, ctl.url, 'osk-a');
    await enroll(ctl, ctl.url, 'tokyo-1');
    await ctl.setPlan('osk-a', [action(cad)]);
    await ctl.setPlan('tokyo-1', [action(cam)]);
  });
  after(async () => ctl.close());

  it('acts for a served host: plan, inventory and reports', async () => {
    const plan = await call(`${ctl.url}/v1/hosts/osk-a/plan`, relayAuth);
    const inventory = await call(`${ctl.url}/v1/hosts/osk-a/inventory`, relayAuth, 'PUT', { facts: {}, labels: {}, software: [] });
    const report = { id: 'r-1', actionId: 'dep/cad@1.0.0/install', serial: 1, state: 'installed', at: new Date().toISOString() };
    const reports = await call(`${ctl.url}/v1/hosts/osk-a/reports`, relayAuth, 'POST', { results: [report] });
    expect([plan.status, inventory.status, reports.status, reports.json]).to.deep.equal([200, 200, 200, { accepted: 1, duplicates: 0 }]);
    expect((await ctl.store.currentStates({ host: 'osk-a' })).map((s) => `${s.actionId} ${s.state}`)).to.deep.equal(['dep/cad@1.0.0/install installed']);
  });

  it('is refused with 403 relay-not-serving for any other host', async () => {
    const answers = await Promise.all([
      call(`${ctl.url}/v1/hosts/tokyo-1/plan`, relayAuth),
      call(`${ctl.url}/v1/hosts/tokyo-1/inventory`, relayAuth, 'PUT', { facts: {}, labels: {}, software: [] }),
      call(`${ctl.url}/v1/hosts/tokyo-1/reports`, relayAuth, 'POST', { results: [] }),
    ]);
    expect(answers.map((a) => [a.status, a.code])).to.deep.equal([
      [403, 'relay-not-serving'],
      [403, 'relay-not-serving'],
      [403, 'relay-not-serving'],
    ]);
    expect((answers[0]!.json as { error: { message: string } }).error.message).to.include('does not serve host tokyo-1');
    // An ordinary host's credential still finds no other host at all.
    expect((await call(`${ctl.url}/v1/hosts/osk-b/plan`, servedAuth)).status).to.equal(404);
  });

  it('reads the content its site needs, and nothing else; a host reads only what its plan names', async () => {
    const get = async (sha: string, auth: string) => {
      const a = await call(`${ctl.url}/v1/content/${sha}`, auth);
      return [a.status, a.code ?? null];
    };
    expect([await get(cad.sha256, relayAuth), await get(cam.sha256, relayAuth), await get(cad.sha256, servedAuth), await get(cam.sha256, servedAuth)]).to.deep.equal([
      [200, null],
      [403, 'content-not-in-plan'],
      [200, null],
      [403, 'content-not-in-plan'],
    ]);
  });

  it('polls its work: what its hosts still need, with their windows; only the relay host may', async () => {
    await ctl.setPlan('osk-b', [action(cad, { distribute: { multicast: false, wake: false, notBefore: '2026-12-01T13:00:00.000Z' } }), action(cam, { deployment: 'later' })]);
    const stats = {
      cacheBytes: 5,
      cacheMaxBytes: 100,
      hits: 3,
      misses: 1,
      coalesced: 0,
      bytesServed: 40,
      bytesFetched: 10,
      queued: 2,
      hosts: { 'osk-a': '2026-12-05T00:00:00.000Z' },
    };
    const work = await call(`${ctl.url}/v1/hosts/relay-osaka/relay-work`, relayAuth, 'POST', { stats });
    expect(work.status).to.equal(200);
    // osk-a reported cad installed: only osk-b still needs cad, and cam.
    expect(work.json).to.deep.equal({
      relays: ['osaka'],
      content: [
        { sha256: cad.sha256, size: cad.size, hosts: 1, when: [{ deployment: 'dep', notBefore: '2026-12-01T13:00:00.000Z' }] },
        { sha256: cam.sha256, size: cam.size, hosts: 1, when: [{ deployment: 'later' }] },
      ].sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1)),
      wake: [],
    });
    expect([
      (await call(`${ctl.url}/v1/hosts/osk-a/relay-work`, servedAuth, 'POST', {})).code,
      (await call(`${ctl.url}/v1/hosts/osk-a/relay-work`, relayAuth, 'POST', {})).code,
    ]).to.deep.equal(['not-a-relay', 'relay-credential-required']);
    const list = await call(`${ctl.url}/v1/relays`, 'Bearer admin-token-for-agent-tests-0123456789');
    const [relay] = (list.json as { relays: Record<string, unknown>[] }).relays;
    expect({ ...relay, lastSeen: typeof relay!['lastSeen'] }).to.deep.equal({
      name: 'osaka',
      host: 'relay-osaka',
      url: 'http://relay-osaka:8470',
      served: ['osk-a', 'osk-b'],
      lastSeen: 'string',
      cache: { bytes: 5, maxBytes: 100, hits: 3, misses: 1, coalesced: 0, hitRatio: 0.75 },
      bytesServed: 40,
      bytesFetched: 10,
      queuedReports: 2,
      hostsSeen: { 'osk-a': '2026-12-05T00:00:00.000Z' },
    });
  });
});
