/** `/metrics` as Prometheus tooling reads it: promtool's naming rules, and the optional bearer token. */
import { expect } from 'chai';
import { startHarness, type Harness } from './harness.js';

/** Every `# TYPE name kind` line of an exposition. */
function types(text: string): { name: string; kind: string }[] {
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1]!, kind: m[2]! }));
}

describe('/metrics', () => {
  describe('open (the default)', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness();
    });
    after(() => h.close());

    it("follows promtool's naming rules: only counters end in _total, counters always do", async () => {
      const m = await h.request('GET', '/metrics', { token: null });
      expect(m.status).to.equal(200);
      const all = types(m.text);
      expect(all.length).to.be.greaterThan(10);
      const wrong = all.filter(({ name, kind }) => (kind === 'counter') !== name.endsWith('_total'));
      expect(wrong).to.deep.equal([]);
      // The labelled gauges the dropped `_total` sums were made of stay.
      expect(all).to.deep.include({ name: 'ferry_nodejs_active_handles', kind: 'gauge' });
    });
  });

  describe('with a metrics token', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ metricsToken: 'scrape-secret-123' });
    });
    after(() => h.close());

    it('answers 401 without the token or with a wrong one, 200 with it or the admin token', async () => {
      const none = await h.request('GET', '/metrics', { token: null });
      expect({ status: none.status, code: none.json.error.code, auth: none.headers.get('www-authenticate') }).to.deep.equal({
        status: 401,
        code: 'unauthenticated',
        auth: 'Bearer realm="ferry-metrics"',
      });
      expect((await h.request('GET', '/metrics', { token: 'wrong-token-00' })).status).to.equal(401);
      const ok = await h.request('GET', '/metrics', { token: 'scrape-secret-123' });
      expect(ok.status).to.equal(200);
      expect(ok.text).to.contain('# TYPE ferry_hosts gauge');
      expect((await h.request('GET', '/metrics')).status).to.equal(200);
      // Health and readiness stay open for probes.
      expect((await h.request('GET', '/healthz', { token: null })).status).to.equal(200);
    });
  });
});
