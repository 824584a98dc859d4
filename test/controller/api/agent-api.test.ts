import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyDocument } from '../../../core/signing/index.js';
import { startHarness, type Harness } from './harness.js';

const report = (id: string, state: string, at: string, extra: Record<string, unknown> = {}) => ({
  id,
  actionId: 'editor-2-4/text-editor@2.4.1/install',
  serial: 1,
  state,
  at,
  ...extra,
});

describe('agent API', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ enrollRateLimit: { perMinute: 600, burst: 100 } });
  });
  afterEach(async () => h.close());

  describe('POST /v1/enroll', () => {
    it('enrolls with a valid token and returns a credential and the controller key', async () => {
      const { token } = await h.store.createToken({ ttlMs: 60_000, now: new Date() });
      const r = await h.request('POST', '/v1/enroll', { token: null, json: { token, host: 'clt2', facts: { os: { platform: 'linux' } }, labels: { dept: 'sales' } } });
      expect(r.status).to.equal(201);
      expect(r.json.host).to.equal('clt2');
      expect(r.json.credential).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(r.json.controllerKey).to.equal(h.publicKeyPem);
      const host = await h.store.getHost('clt2');
      expect(host).to.include({ host: 'clt2', state: 'enrolled' });
      expect(host?.labels).to.deep.equal({ dept: 'sales' });
      expect(h.events.inventoryChanged).to.deep.equal(['clt2']);
    });

    const refusals = [
      { name: 'an unknown token', token: 'not-a-token', status: 401, code: 'bad-token' },
      { name: 'an expired token', token: 'EXPIRED', status: 401, code: 'bad-token' },
    ];
    for (const c of refusals) {
      it(`refuses ${c.name} and stores nothing`, async () => {
        let token = c.token;
        if (token === 'EXPIRED') token = (await h.store.createToken({ ttlMs: 1000, now: new Date(Date.now() - 60_000) })).token;
        const r = await h.request('POST', '/v1/enroll', { token: null, json: { token, host: 'clt3' } });
        expect(r.status).to.equal(c.status);
        expect(r.json.error.code).to.equal(c.code);
        expect(await h.store.getHost('clt3')).to.equal(undefined);
      });
    }

    it('refuses a second enrollment of the same host until an admin resets it', async () => {
      const first = await h.enroll('clt4');
      const { token } = await h.store.createToken({ ttlMs: 60_000, now: new Date() });
      const again = await h.request('POST', '/v1/enroll', { token: null, json: { token, host: 'clt4' } });
      expect(again.status).to.equal(409);
      expect(again.json.error.code).to.equal('host-exists');
      expect(again.json.error.message).to.contain('ask an admin to reset it');
      // The first credential still works; the refused one was never issued.
      expect((await h.request('GET', '/v1/hosts/clt4/plan', { token: first })).json.error.code).to.equal('no-plan-yet');

      expect((await h.request('POST', '/v1/hosts/clt4/reset')).status).to.equal(200);
      expect((await h.request('GET', '/v1/hosts/clt4/plan', { token: first })).status).to.equal(401);
      const re = await h.request('POST', '/v1/enroll', { token: null, json: { token, host: 'clt4' } });
      expect(re.status).to.equal(201);
    });

    it('validates the body and reports every problem', async () => {
      const r = await h.request('POST', '/v1/enroll', { token: null, json: { token: '', host: 'Not_A_Name', extra: 1 } });
      expect(r.status).to.equal(400);
      expect(r.json.error.code).to.equal('invalid-body');
      expect(r.json.error.details.map((d: { path: string }) => d.path).sort()).to.deep.equal(['/', '/host', '/token']);
    });
  });

  it('rate-limits enrollment per address with 429 and Retry-After', async () => {
    const limited = await startHarness({ enrollRateLimit: { perMinute: 10, burst: 3 } });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const r = await limited.request('POST', '/v1/enroll', { token: null, json: { token: 'nope', host: `h${i}` } });
        statuses.push(r.status);
        if (r.status === 429) retryAfter = r.headers.get('retry-after');
      }
      expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
      expect(Number(retryAfter)).to.be.within(1, 60);
    } finally {
      await limited.close();
    }
  });

  describe('isolation', () => {
    it("answers 404 for another host's plan, inventory and reports, and 401 without a credential", async () => {
      const a = await h.enroll('host-a');
      await h.enroll('host-b');
      await h.seedPlan('host-b');
      const cases = [
        { method: 'GET', path: '/v1/hosts/host-b/plan' },
        { method: 'GET', path: '/v1/hosts/no-such-host/plan' },
        { method: 'PUT', path: '/v1/hosts/host-b/inventory', json: { facts: {}, labels: {}, software: [] } },
        { method: 'POST', path: '/v1/hosts/host-b/reports', json: { results: [report('r1', 'installed', '2026-01-01T00:00:00Z')] } },
      ];
      for (const c of cases) {
        const r = await h.request(c.method, c.path, { token: a, ...(c.json && { json: c.json }) });
        expect(r.status, `${c.method} ${c.path}`).to.equal(404);
        expect(r.json.error.code).to.equal('not-found');
        const anon = await h.request(c.method, c.path, { token: null, ...(c.json && { json: c.json }) });
        expect(anon.status).to.equal(401);
      }
      expect(await h.store.history('host-b')).to.deep.equal([]);
      expect(await h.store.getInventory('host-b')).to.equal(undefined);
    });

    it('a host credential does not open the admin API', async () => {
      const a = await h.enroll('host-a');
      for (const path of ['/v1/status', '/v1/hosts', '/v1/hosts/host-a', '/v1/deployments']) {
        const r = await h.request('GET', path, { token: a });
        expect(r.status, path).to.equal(401);
        expect(r.json.error.code).to.equal('admin-token-required');
      }
    });
  });

  describe('GET /v1/hosts/{host}/plan', () => {
    it('serves the signed plan with a strong ETag and answers 304 to If-None-Match', async () => {
      const cred = await h.enroll('web1');
      expect((await h.request('GET', '/v1/hosts/web1/plan', { token: cred })).status).to.equal(404);
      const signed = await h.seedPlan('web1');
      const r = await h.request('GET', '/v1/hosts/web1/plan', { token: cred });
      expect(r.status).to.equal(200);
      expect(r.text).to.equal(signed);
      expect(verifyDocument(r.json, h.publicKeyPem)).to.deep.equal({ ok: true });
      const etag = r.headers.get('etag')!;
      expect(etag).to.match(/^"[0-9a-f]{64}"$/);
      const again = await h.request('GET', '/v1/hosts/web1/plan', { token: cred, headers: { 'if-none-match': etag } });
      expect(again.status).to.equal(304);
      expect(again.text).to.equal('');
      expect(again.headers.get('etag')).to.equal(etag);
      const weakList = await h.request('GET', '/v1/hosts/web1/plan', { token: cred, headers: { 'if-none-match': `"x", W/${etag}` } });
      expect(weakList.status).to.equal(304);

      const newer = await h.seedPlan('web1', 'main@sha1:2222');
      const changed = await h.request('GET', '/v1/hosts/web1/plan', { token: cred, headers: { 'if-none-match': etag } });
      expect(changed.status).to.equal(200);
      expect(changed.text).to.equal(newer);
      expect(changed.json.serial).to.equal(2);
      expect(changed.headers.get('etag')).to.not.equal(etag);

      const metrics = (await h.request('GET', '/metrics')).text;
      expect(metrics).to.contain('ferry_plans_served_total{outcome="200"} 2');
      expect(metrics).to.contain('ferry_plans_served_total{outcome="304"} 2');
      expect(metrics).to.contain('ferry_plan_not_modified_ratio 0.5');
    });

    it('answers a poll the same through the fast-path listener and through the express app alone', async () => {
      const cred = await h.enroll('web3');
      const signed = await h.seedPlan('web3');
      const appOnly: Server = await new Promise((resolve) => {
        const s = h.api.app.listen(0, '127.0.0.1', () => resolve(s));
      });
      try {
        const poll = async (base: string, etag?: string) => {
          const r = await fetch(`${base}/v1/hosts/web3/plan`, {
            headers: { authorization: `Bearer ${cred}`, ...(etag && { 'if-none-match': etag, 'cache-control': 'max-age=0' }) },
          });
          return { status: r.status, etag: r.headers.get('etag'), body: await r.text() };
        };
        const appUrl = `http://127.0.0.1:${(appOnly.address() as AddressInfo).port}`;
        const etag = `"${createHash('sha256').update(signed).digest('hex')}"`;
        const answers = [await poll(h.url), await poll(h.url, etag), await poll(appUrl), await poll(appUrl, etag)];
        const ok = { status: 200, etag, body: signed };
        const notModified = { status: 304, etag, body: '' };
        expect(answers).to.deep.equal([ok, notModified, ok, notModified]);
      } finally {
        await new Promise((resolve) => appOnly.close(resolve));
      }
    });

    it('lets the admin read any plan', async () => {
      await h.enroll('web2');
      const signed = await h.seedPlan('web2');
      const r = await h.request('GET', '/v1/hosts/web2/plan');
      expect(r.status).to.equal(200);
      expect(r.text).to.equal(signed);
    });
  });

  describe('PUT /v1/hosts/{host}/inventory', () => {
    it('stores the inventory and tells the reconciler only when it changed', async () => {
      const cred = await h.enroll('inv1');
      h.events.inventoryChanged.length = 0;
      const body = { facts: { os: { platform: 'linux' }, cpus: 4 }, labels: { dept: 'it' }, software: [{ name: 'python3', version: '3.11.2', source: 'dpkg' }] };
      const r = await h.request('PUT', '/v1/hosts/inv1/inventory', { token: cred, json: body });
      expect(r.status).to.equal(200);
      expect(r.json.changed).to.equal(true);
      const same = await h.request('PUT', '/v1/hosts/inv1/inventory', { token: cred, json: body });
      expect(same.json.changed).to.equal(false);
      expect(h.events.inventoryChanged).to.deep.equal(['inv1']);
      const stored = await h.store.getInventory('inv1');
      expect(stored?.inventory).to.deep.equal({ host: 'inv1', ...body });
    });

    it('refuses a body naming another host and a non-JSON body', async () => {
      const cred = await h.enroll('inv2');
      const mismatch = await h.request('PUT', '/v1/hosts/inv2/inventory', { token: cred, json: { host: 'other', facts: {}, labels: {}, software: [] } });
      expect(mismatch.status).to.equal(400);
      expect(mismatch.json.error.code).to.equal('host-mismatch');
      const text = await h.request('PUT', '/v1/hosts/inv2/inventory', { token: cred, body: 'facts=1', headers: { 'content-type': 'text/plain' } });
      expect(text.status).to.equal(415);
      expect(await h.store.getInventory('inv2')).to.equal(undefined);
    });
  });

  describe('POST /v1/hosts/{host}/reports', () => {
    it('is idempotent: the same report twice is a duplicate and the state does not move', async () => {
      const cred = await h.enroll('rep1');
      const first = await h.request('POST', '/v1/hosts/rep1/reports', {
        token: cred,
        json: { results: [report('r1', 'downloading', '2026-01-01T00:00:00Z', { bytesDone: 10 }), report('r2', 'installed', '2026-01-01T00:01:00Z')] },
      });
      expect(first.status).to.equal(200);
      expect(first.json).to.deep.equal({ accepted: 2, duplicates: 0 });
      const before = await h.store.currentStates({ host: 'rep1' });
      const again = await h.request('POST', '/v1/hosts/rep1/reports', { token: cred, json: { results: [report('r2', 'installed', '2026-01-01T00:01:00Z')] } });
      expect(again.json).to.deep.equal({ accepted: 0, duplicates: 1 });
      expect(await h.store.currentStates({ host: 'rep1' })).to.deep.equal(before);
      expect(before.map((s) => s.state)).to.deep.equal(['installed']);
      expect(await h.store.history('rep1')).to.have.length(2);
      expect(h.events.reportsIngested).to.deep.equal(['rep1']);
      const metrics = (await h.request('GET', '/metrics')).text;
      expect(metrics).to.contain('ferry_reports_ingested_total{result="accepted"} 2');
      expect(metrics).to.contain('ferry_reports_ingested_total{result="duplicate"} 1');
    });

    it('refuses a malformed report and stores none of the batch', async () => {
      const cred = await h.enroll('rep2');
      const r = await h.request('POST', '/v1/hosts/rep2/reports', {
        token: cred,
        json: { results: [report('ok', 'installed', '2026-01-01T00:00:00Z'), report('bad', 'exploded', 'yesterday')] },
      });
      expect(r.status).to.equal(400);
      expect(r.json.error.details.map((d: { path: string }) => d.path)).to.deep.equal(['/results/1/state', '/results/1/at']);
      expect(await h.store.history('rep2')).to.deep.equal([]);
    });
  });
});
