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

  describe('plan polls', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness();
    });
    after(() => h.close());

    /** The samples of `/metrics` whose line starts with `prefix`, as `{labels} value` → value. */
    const scrape = async (prefix: string): Promise<Record<string, number>> => {
      const text = (await h.request('GET', '/metrics', { token: null })).text;
      const out: Record<string, number> = {};
      for (const l of text.split('\n')) if (l.startsWith(prefix)) out[l.slice(prefix.length, l.lastIndexOf(' '))] = Number(l.slice(l.lastIndexOf(' ') + 1));
      return out;
    };

    it('counts every poll the fast path answers, once, in plans served and the request durations', async () => {
      const credential = await h.enroll('metrics-1');
      await h.seedPlan('metrics-1');
      const poll = (etag?: string) => h.request('GET', '/v1/hosts/metrics-1/plan', { token: credential, ...(etag !== undefined && { headers: { 'if-none-match': etag } }) });
      const etag = (await poll()).headers.get('etag')!;
      for (let i = 0; i < 5; i++) expect((await poll(etag)).status).to.equal(304);
      const labels = (status: string, le?: string) => `{${le !== undefined ? `le="${le}",` : ''}method="GET",route="/v1/hosts/:host/plan",status="${status}"}`;
      const first = { served: await scrape('ferry_plans_served_total'), durations: await scrape('ferry_http_request_duration_seconds_') };
      expect(first.served).to.deep.equal({ '{outcome="200"}': 1, '{outcome="304"}': 5 });
      expect(first.durations[`count${labels('304')}`]).to.equal(5);
      expect(first.durations[`count${labels('200')}`]).to.equal(1);
      expect(first.durations[`bucket${labels('304', '+Inf')}`]).to.equal(5);
      expect(first.durations[`bucket${labels('304', '5')}`]).to.equal(5);
      expect(first.durations[`sum${labels('304')}`]).to.be.greaterThan(0);
      // Two more polls: added once to what was scraped, not again.
      await poll(etag);
      await poll();
      expect(await scrape('ferry_plans_served_total')).to.deep.equal({ '{outcome="200"}': 2, '{outcome="304"}': 6 });
      const second = await scrape('ferry_http_request_duration_seconds_');
      expect([second[`count${labels('304')}`], second[`count${labels('200')}`], second[`bucket${labels('304', '+Inf')}`]]).to.deep.equal([6, 2, 6]);
      const ratio = await scrape('ferry_plan_not_modified_ratio');
      expect(ratio['']).to.equal(6 / 8);
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
