/** The dashboard's assets over HTTP, without a browser: served unauthenticated, with a strict CSP, beside the API. */
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { statusStateOrder } from '../../core/plan/action-states.js';
import { dashboardAssetsDir } from '../../controller/dashboard/index.js';
import { startHarness, type Harness } from '../controller/api/harness.js';

describe('dashboard router', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  it('serves the page at / without a token, with security headers and no caching', async () => {
    const r = await h.request('GET', '/', { token: null });
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/^text\/html/);
    expect(r.headers.get('cache-control')).to.equal('no-cache');
    expect(r.headers.get('content-security-policy')).to.contain("script-src 'self'").and.contain("frame-ancestors 'none'").and.not.contain('unsafe');
    expect(r.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(r.text).to.contain('<script type="module" src="/assets/app.js"></script>');
    expect(r.text).to.contain('<main id="main"');
  });

  it("serves every asset with its type, and answers an unknown one with the API's JSON 404", async () => {
    const types: Record<string, RegExp> = { js: /javascript/, css: /^text\/css/, svg: /^image\/svg\+xml/, html: /^text\/html/ };
    const files = (dir: string, prefix = ''): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
    const all = files(dashboardAssetsDir());
    expect(all).to.include.members(['app.js', 'dom.js', 'style.css', 'favicon.svg', 'views/deployment.js']);
    for (const file of all) {
      const r = await h.request('GET', `/assets/${file}`, { token: null });
      expect(r.status, file).to.equal(200);
      expect(r.headers.get('content-type'), file).to.match(types[file.split('.').pop()!]!);
      expect(r.headers.get('etag'), file).to.be.a('string');
    }
    const missing = await h.request('GET', '/assets/nope.js', { token: null });
    expect(missing.status).to.equal(404);
    expect(missing.json.error.code).to.equal('not-found');
    const traversal = await h.request('GET', '/assets/..%2f..%2fpackage.json', { token: null });
    expect(traversal.status).to.be.oneOf([403, 404]);
  });

  it('serves the order of states from core as /assets/states.js, revalidated by ETag', async () => {
    const r = await h.request('GET', '/assets/states.js', { token: null });
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/^text\/javascript/);
    expect(r.headers.get('content-security-policy')).to.contain("script-src 'self'");
    const served = (await import(`data:text/javascript,${encodeURIComponent(r.text)}`)) as { states: readonly string[] };
    expect(served.states).to.deep.equal(statusStateOrder);
    const again = await h.request('GET', '/assets/states.js', { token: null, headers: { 'if-none-match': r.headers.get('etag')!, 'cache-control': 'max-age=0' } });
    expect(again.status).to.equal(304);
  });

  it('leaves the API alone: its data still needs the admin token', async () => {
    expect((await h.request('GET', '/v1/status', { token: null })).status).to.equal(401);
    expect((await h.request('GET', '/v1/status')).status).to.equal(200);
    const post = await h.request('POST', '/', { token: null });
    expect(post.status).to.equal(404);
  });
});
