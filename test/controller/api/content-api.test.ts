import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startHarness, type Harness } from './harness.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('content API', () => {
  let h: Harness;
  let cred: string;
  const blob = randomBytes(100_000);
  const digest = sha(blob);
  before(async () => {
    h = await startHarness();
    cred = await h.enroll('agent1');
  });
  after(async () => h.close());

  it('PUT refuses bytes that do not match the sha256 and stores nothing', async () => {
    const wrong = 'a'.repeat(64);
    const r = await h.request('PUT', `/v1/content/${wrong}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } });
    expect(r.status).to.equal(422);
    expect(r.json.error.code).to.equal('sha256-mismatch');
    expect(r.json.error.details.actualSha256).to.equal(digest);
    expect(await h.content.has(wrong)).to.equal(false);
    expect((await readdir(join(h.dir, 'content'))).filter((f) => f.startsWith('.tmp'))).to.deep.equal([]);
  });

  it('PUT needs the admin token', async () => {
    const anon = await h.request('PUT', `/v1/content/${digest}`, { token: null, body: blob });
    expect(anon.status).to.equal(401);
    const host = await h.request('PUT', `/v1/content/${digest}`, { token: cred, body: blob });
    expect(host.status).to.equal(401);
    expect(await h.content.has(digest)).to.equal(false);
  });

  it('PUT stores verified content (201), and again is 200 existed', async () => {
    const r = await h.request('PUT', `/v1/content/${digest}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } });
    expect(r.status).to.equal(201);
    expect(r.json).to.deep.equal({ sha256: digest, size: blob.length, existed: false });
    const again = await h.request('PUT', `/v1/content/${digest}`, { body: blob });
    expect(again.status).to.equal(200);
    expect(again.json.existed).to.equal(true);
  });

  it('GET serves the content with immutable cache headers to a host', async () => {
    const res = await fetch(`${h.url}/v1/content/${digest}`, { headers: { authorization: `Bearer ${cred}` } });
    expect(res.status).to.equal(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(blob)).to.equal(true);
    expect(res.headers.get('accept-ranges')).to.equal('bytes');
    expect(res.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    expect(res.headers.get('etag')).to.equal(`"${digest}"`);
    expect(res.headers.get('content-length')).to.equal(String(blob.length));
  });

  const ranges = [
    { name: 'a middle range', range: 'bytes=100-199', start: 100, end: 199 },
    { name: 'an open-ended range', range: 'bytes=99990-', start: 99990, end: 99999 },
    { name: 'a suffix range', range: 'bytes=-5', start: 99995, end: 99999 },
    { name: 'a range past the end (clamped)', range: 'bytes=99998-200000', start: 99998, end: 99999 },
  ];
  for (const c of ranges) {
    it(`GET with ${c.name} answers 206 with that slice`, async () => {
      const res = await fetch(`${h.url}/v1/content/${digest}`, { headers: { authorization: `Bearer ${cred}`, range: c.range } });
      expect(res.status).to.equal(206);
      expect(res.headers.get('content-range')).to.equal(`bytes ${c.start}-${c.end}/${blob.length}`);
      expect(Buffer.from(await res.arrayBuffer()).equals(blob.subarray(c.start, c.end + 1))).to.equal(true);
    });
  }

  it('GET with an unsatisfiable range answers 416 with the size', async () => {
    const r = await h.request('GET', `/v1/content/${digest}`, { token: cred, headers: { range: 'bytes=200000-300000' } });
    expect(r.status).to.equal(416);
    expect(r.headers.get('content-range')).to.equal(`bytes */${blob.length}`);
    expect(r.json.error.code).to.equal('range-not-satisfiable');
  });

  it('GET ignores a malformed range, and several ranges, serving everything', async () => {
    for (const range of ['bytes=abc', 'bytes=0-1,5-6']) {
      const res = await fetch(`${h.url}/v1/content/${digest}`, { headers: { authorization: `Bearer ${cred}`, range } });
      expect(res.status, range).to.equal(200);
      expect((await res.arrayBuffer()).byteLength).to.equal(blob.length);
    }
  });

  it('HEAD answers headers only; If-None-Match answers 304', async () => {
    const head = await fetch(`${h.url}/v1/content/${digest}`, { method: 'HEAD', headers: { authorization: `Bearer ${cred}` } });
    expect(head.status).to.equal(200);
    expect(head.headers.get('content-length')).to.equal(String(blob.length));
    expect(await head.text()).to.equal('');
    const cached = await fetch(`${h.url}/v1/content/${digest}`, { headers: { authorization: `Bearer ${cred}`, 'if-none-match': `"${digest}"` } });
    expect(cached.status).to.equal(304);
  });

  it('GET needs a credential; unknown content is 404 and a bad digest 400', async () => {
    expect((await h.request('GET', `/v1/content/${digest}`, { token: null })).status).to.equal(401);
    const missing = await h.request('GET', `/v1/content/${'b'.repeat(64)}`, { token: cred });
    expect(missing.status).to.equal(404);
    const bad = await h.request('GET', '/v1/content/..%2F..%2Fetc%2Fpasswd', { token: cred });
    expect(bad.status).to.equal(400);
    expect(bad.json.error.code).to.equal('invalid-params');
  });
});
