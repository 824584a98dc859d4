import { expect } from 'chai';
import { hubSignature } from '../../../controller/api/webhook.js';
import { planAction } from '../../dashboard/fleet.js';
import { manualClock } from '../../../lib/clock.js';
import { startHarness, type Harness } from './harness.js';

describe('admin API', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({
      webhookSecret: 'hook-secret',
      desired: [
        { name: 'editor-2-4', suspended: false, packages: [{ name: 'text-editor', version: '2.4.1', state: 'present' }] },
        { name: 'frozen', suspended: true, packages: [] },
      ],
    });
  });
  afterEach(async () => h.close());

  const adminEndpoints = [
    ['GET', '/v1/status'],
    ['GET', '/v1/deployments'],
    ['GET', '/v1/deployments/editor-2-4'],
    ['GET', '/v1/hosts'],
    ['GET', '/v1/hosts/x1'],
    ['POST', '/v1/deployments/editor-2-4/suspend'],
    ['POST', '/v1/deployments/editor-2-4/resume'],
    ['POST', '/v1/hosts/x1/reset'],
    ['POST', '/v1/tokens'],
    ['POST', '/v1/source/refresh'],
  ] as const;
  it('answers 401 without the admin token or with a wrong one, and changes nothing', async () => {
    for (const [method, path] of adminEndpoints) {
      for (const token of [null, 'wrong-token']) {
        const r = await h.request(method, path, { token, headers: { 'content-type': 'application/json' } });
        expect(r.status, `${method} ${path}`).to.equal(401);
        expect(r.json.error.code).to.equal('admin-token-required');
        expect(r.headers.get('www-authenticate')).to.contain('Bearer');
      }
    }
    expect(await h.store.listOverrides()).to.deep.equal([]);
    expect(h.events.refreshes).to.equal(0);
  });

  it('makes enrollment tokens with a TTL', async () => {
    const r = await h.request('POST', '/v1/tokens', { json: { ttl: '2h' } });
    expect(r.status).to.equal(201);
    expect(r.json.token).to.be.a('string');
    const ms = Date.parse(r.json.expiresAt) - Date.now();
    expect(ms).to.be.within(2 * 3_600_000 - 60_000, 2 * 3_600_000 + 1000);
    const check = await h.store.consumeToken(r.json.token, new Date());
    expect(check.ok).to.equal(true);
    const compound = await h.request('POST', '/v1/tokens', { json: { ttl: '1h30m' } });
    expect(compound.status).to.equal(201);
    expect(Date.parse(compound.json.expiresAt) - Date.now()).to.be.within(5_400_000 - 60_000, 5_400_000 + 1000);
    const bad = await h.request('POST', '/v1/tokens', { json: { ttl: '2 hours' } });
    expect(bad.status).to.equal(400);
    const defaulted = await h.request('POST', '/v1/tokens');
    expect(defaulted.status).to.equal(201);
  });

  it('suspends and resumes a deployment as an operator override next to spec.suspended', async () => {
    const s = await h.request('POST', '/v1/deployments/editor-2-4/suspend', { json: { by: 'alice' } });
    expect(s.status).to.equal(200);
    expect(s.json.suspended).to.deep.include({ spec: false, effective: true });
    expect(s.json.suspended.override).to.include({ deployment: 'editor-2-4', suspended: true, by: 'alice' });
    expect(h.events.overridesChanged).to.equal(1);
    const list = await h.request('GET', '/v1/deployments');
    expect(list.json.deployments.map((d: { name: string; suspended: { effective: boolean } }) => [d.name, d.suspended.effective])).to.deep.equal([
      ['editor-2-4', true],
      ['frozen', true],
    ]);
    const r = await h.request('POST', '/v1/deployments/frozen/resume');
    expect(r.json.suspended).to.deep.include({ spec: true, effective: false });
    expect(r.json.suspended.override).to.include({ suspended: false, by: 'admin' });
    const unknown = await h.request('POST', '/v1/deployments/nope/suspend');
    expect(unknown.status).to.equal(404);
    expect((await h.store.listOverrides()).map((o) => [o.deployment, o.suspended])).to.deep.equal([
      ['editor-2-4', true],
      ['frozen', false],
    ]);
  });

  it('status shows source status, host counts, per-state counts of planned actions and failures with reasons', async () => {
    const cred = await h.enroll('web1');
    await h.enroll('web2');
    await h.enroll('web3');
    const editorAction = planAction('editor-2-4', 'text-editor', '2.4.1');
    await h.seedPlan('web1', undefined, [editorAction]);
    // web3 has the deployment in its plan and has not reported yet: it counts as pending.
    await h.seedPlan('web3', undefined, [editorAction]);
    await h.request('POST', '/v1/hosts/web2/reset');
    await h.store.recordSourceAttempt({ revision: 'main@sha1:good', ok: true, at: new Date() });
    await h.store.recordSourceAttempt({
      revision: 'main@sha1:bad',
      ok: false,
      problems: [{ file: 'deploy.yaml', line: 3, col: 5, severity: 'error', message: 'unknown package text-editor@9' }],
      at: new Date(),
    });
    const at = new Date().toISOString();
    await h.request('POST', '/v1/hosts/web1/reports', {
      token: cred,
      json: {
        results: [
          { id: 'a', actionId: 'editor-2-4/text-editor@2.4.1/install', serial: 1, state: 'failed', at, exitCode: 2, reason: 'install.sh exited 2' },
          // An action in no current plan: history only, neither counted nor listed as failing.
          { id: 'b', actionId: 'editor-2-4/text-editor@2.4.0/install', serial: 1, state: 'failed', at, reason: 'old' },
        ],
      },
    });
    const r = await h.request('GET', '/v1/status');
    expect(r.status).to.equal(200);
    expect(r.json.source.lastAppliedRevision).to.equal('main@sha1:good');
    expect(r.json.source.rejected.revision).to.equal('main@sha1:bad');
    expect(r.json.source.rejected.problems[0]).to.include({ file: 'deploy.yaml', line: 3 });
    expect(r.json.source.fetch).to.include({ kind: 'dir', ready: true });
    expect(r.json.hosts).to.deep.equal({ total: 3, enrolled: 2, reset: 1 });
    const editor = r.json.deployments.find((d: { name: string }) => d.name === 'editor-2-4');
    expect(editor.counts).to.deep.equal({ failed: 1, pending: 1 });
    expect(editor.actions).to.equal(2);
    expect(r.json.failuresTotal).to.equal(1);
    expect(r.json.failures).to.deep.equal([
      {
        host: 'web1',
        deployment: 'editor-2-4',
        actionId: 'editor-2-4/text-editor@2.4.1/install',
        package: 'text-editor',
        version: '2.4.1',
        reason: 'install.sh exited 2',
        exitCode: 2,
        at,
      },
    ]);

    const d = await h.request('GET', '/v1/deployments/editor-2-4?state=failed&limit=10');
    expect(d.status).to.equal(200);
    expect(d.json.packages).to.deep.equal([{ name: 'text-editor', version: '2.4.1', state: 'present' }]);
    expect(d.json.hosts.total).to.equal(1);
    expect(d.json.hosts.items[0]).to.include({ host: 'web1', state: 'failed' });
    const every = await h.request('GET', '/v1/deployments/editor-2-4');
    expect(every.json.counts).to.deep.equal({ failed: 1, pending: 1 });
    expect(every.json.hosts).to.deep.equal({
      total: 2,
      offset: 0,
      limit: 100,
      items: [
        {
          host: 'web1',
          state: 'failed',
          lastReportAt: at,
          actions: [
            {
              actionId: editorAction.id,
              package: 'text-editor',
              version: '2.4.1',
              op: 'install',
              state: 'failed',
              planned: 'planned',
              at,
              serial: 1,
              reason: 'install.sh exited 2',
              exitCode: 2,
            },
          ],
        },
        { host: 'web3', state: 'pending', actions: [{ actionId: editorAction.id, package: 'text-editor', version: '2.4.1', op: 'install', state: 'pending', planned: 'planned' }] },
      ],
    });
    const pending = await h.request('GET', '/v1/deployments/editor-2-4?state=pending&offset=0&limit=1');
    expect(pending.json.hosts.items.map((i: { host: string }) => i.host)).to.deep.equal(['web3']);
    const none = await h.request('GET', '/v1/deployments/editor-2-4?state=installed');
    expect(none.json.hosts).to.deep.equal({ total: 0, offset: 0, limit: 100, items: [] });
    const badQuery = await h.request('GET', '/v1/deployments/editor-2-4?limit=0&colour=red');
    expect(badQuery.status).to.equal(400);
    expect(badQuery.json.error.code).to.equal('invalid-query');
  });

  it('lists hosts paged and shows one host with inventory, plan, states and history', async () => {
    for (const n of ['a1', 'a2', 'a3']) await h.enroll(n);
    const page = await h.request('GET', '/v1/hosts?offset=1&limit=1');
    expect(page.json.total).to.equal(3);
    expect(page.json.hosts.map((x: { host: string }) => x.host)).to.deep.equal(['a2']);
    await h.seedPlan('a1');
    const one = await h.request('GET', '/v1/hosts/a1');
    expect(one.status).to.equal(200);
    expect(one.json.host.host).to.equal('a1');
    expect(one.json.plan.serial).to.equal(1);
    expect(one.json.plan).to.not.have.property('signed');
    expect(one.json.states).to.deep.equal([]);
    expect((await h.request('GET', '/v1/hosts/zz')).status).to.equal(404);
    expect((await h.request('POST', '/v1/hosts/zz/reset')).status).to.equal(404);
  });

  it('refreshes the source on request and on a correctly signed webhook only', async () => {
    expect((await h.request('POST', '/v1/source/refresh')).status).to.equal(200);
    expect(h.events.refreshes).to.equal(1);
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const bad = await h.request('POST', '/v1/source/webhook', {
      token: null,
      body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': hubSignature('wrong', body) },
    });
    expect(bad.status).to.equal(401);
    expect(bad.json.error.code).to.equal('bad-signature');
    const missing = await h.request('POST', '/v1/source/webhook', { token: null, body, headers: { 'content-type': 'application/json' } });
    expect(missing.status).to.equal(401);
    expect(h.events.refreshes).to.equal(1);
    const good = await h.request('POST', '/v1/source/webhook', {
      token: null,
      body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': hubSignature('hook-secret', body) },
    });
    expect(good.status).to.equal(202);
    expect(h.events.refreshes).to.equal(2);
  });

  it('answers health, readiness and metrics without a token', async () => {
    expect((await h.request('GET', '/healthz', { token: null })).status).to.equal(200);
    expect((await h.request('GET', '/readyz', { token: null })).status).to.equal(200);
    h.setReady(false);
    const notReady = await h.request('GET', '/readyz', { token: null });
    expect(notReady.status).to.equal(503);
    await h.enroll('m1');
    const m = await h.request('GET', '/metrics', { token: null });
    expect(m.status).to.equal(200);
    expect(m.headers.get('content-type')).to.contain('text/plain');
    for (const name of [
      'ferry_reconcile_duration_seconds',
      'ferry_plans_served_total',
      'ferry_plan_not_modified_ratio',
      'ferry_reports_ingested_total',
      'ferry_hosts',
      'ferry_http_request_duration_seconds',
      'ferry_process_resident_memory_bytes',
    ]) {
      expect(m.text, name).to.contain(`# TYPE ${name} `);
    }
    expect(m.text).to.contain('ferry_hosts{state="enrolled"} 1');
  });

  it('answers errors in one shape: unknown route 404, wrong method 405, bad JSON 400, huge body 413', async () => {
    const cases = [
      { method: 'GET', path: '/nope', status: 404, code: 'not-found' },
      { method: 'DELETE', path: '/v1/status', status: 405, code: 'method-not-allowed' },
      { method: 'POST', path: '/v1/tokens', body: '{"ttl":', status: 400, code: 'bad-json' },
      { method: 'POST', path: '/v1/tokens', body: JSON.stringify({ ttl: 'x'.repeat(2_000_000) }), status: 413, code: 'body-too-large' },
      { method: 'POST', path: '/v1/tokens', body: '[]', status: 400, code: 'invalid-body' },
      { method: 'GET', path: '/v1/hosts/%E0%A4%A', status: 400, code: 'bad-request' },
    ];
    for (const c of cases) {
      const r = await h.request(c.method, c.path, { ...(c.body !== undefined && { body: c.body, headers: { 'content-type': 'application/json' } }) });
      expect(r.status, `${c.method} ${c.path}`).to.equal(c.status);
      expect(r.json.error.code, `${c.method} ${c.path}`).to.equal(c.code);
      expect(r.json.error.message).to.be.a('string');
    }
    const m = await h.request('DELETE', '/v1/status');
    expect(m.headers.get('allow')).to.equal('GET, HEAD');
  });
});

describe('admin API: times come from the injected clock', () => {
  it("expires a token exactly its TTL (compound durations too) after the clock's now", async () => {
    const clock = manualClock('2026-12-01T09:00:00Z');
    const h = await startHarness({ clock });
    try {
      const made = await Promise.all(['1h30m', '24h', '500ms1s'].map((ttl) => h.request('POST', '/v1/tokens', { json: { ttl } })));
      expect(made.map((r) => [r.status, r.json.expiresAt])).to.deep.equal([
        [201, '2026-12-01T10:30:00.000Z'],
        [201, '2026-12-02T09:00:00.000Z'],
        [201, '2026-12-01T09:00:01.500Z'],
      ]);
      clock.advance(2 * 3_600_000);
      const enrolled = await h.request('POST', '/v1/enroll', { token: null, json: { token: made[0]!.json.token, host: 'late' } });
      expect(enrolled.status).to.equal(401);
    } finally {
      await h.close();
    }
  });
});
