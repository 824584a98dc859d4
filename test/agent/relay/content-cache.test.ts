/**
 * The relay's content cache against a real controller API (test/agent/runtime/fixture.ts) through
 * a counting proxy: one upstream copy however many hosts ask, Range from the partial file while
 * the transfer is held mid-way, no complete response from bytes that fail verification.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MemorySink } from '../../../agent/log/events.js';
import { RelayServer } from '../../../agent/relay/relay-server.js';
import { eventually } from '../../support/eventually.js';
import { packageFiles, type TestController, type TestPackage } from '../runtime/fixture.js';
import { enroll, type UpstreamProxy } from './upstream-proxy.js';
import { closeRelaySite, openRelaySite, startSiteRelay } from './relay-site.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function get(url: string, authorization: string, range?: string): Promise<{ status: number; body: Buffer; contentRange: string | null }> {
  const res = await fetch(url, { headers: { authorization, ...(range ? { range } : {}) } });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), contentRange: res.headers.get('content-range') };
}

describe('relay: content cache', function () {
  this.timeout(60_000);
  let ctl: TestController;
  let proxy: UpstreamProxy;
  let relay: RelayServer | undefined;
  let work: string;
  let pkg: TestPackage;
  let bytes: Buffer;

  const startRelay = async (cacheBytes = 1 << 30) => {
    relay = await startSiteRelay({ ctl, proxy, work, pkg }, { cacheBytes });
    return relay;
  };
  const contentCalls = () => proxy.content.map((c) => ({ method: c.method, status: c.status, bytes: c.bytes, ...(c.range ? { range: c.range } : {}) }));

  beforeEach(async () => {
    ({ ctl, proxy, work, pkg } = await openRelaySite('ferry-relay-', 3 * 1024 * 1024));
    const { readFile } = await import('node:fs/promises');
    bytes = await readFile(pkg.file);
  });
  afterEach(async () => {
    proxy.release();
    await closeRelaySite({ ctl, proxy, work, pkg }, relay);
    relay = undefined;
  });

  it('eight hosts asking at once get the artifact from one upstream transfer; later asks are cache hits', async () => {
    const r = await startRelay();
    const auths = await Promise.all(Array.from({ length: 8 }, (_, i) => enroll(ctl, r.url, `site-${i}`)));
    const url = `${r.url}/v1/content/${pkg.sha256}`;
    const answers = await Promise.all(auths.map((a) => get(url, a)));
    expect(answers.map((a) => ({ status: a.status, sha: sha(a.body) }))).to.deep.equal(auths.map(() => ({ status: 200, sha: pkg.sha256 })));
    const again = await get(url, auths[3]!, 'bytes=100-199');
    expect({ status: again.status, body: again.body, contentRange: again.contentRange }).to.deep.equal({
      status: 206,
      body: bytes.subarray(100, 200),
      contentRange: `bytes 100-199/${pkg.size}`,
    });
    // HEADs check each credential (and give the size); exactly one GET carries the bytes.
    expect(contentCalls().filter((c) => c.method === 'GET')).to.deep.equal([{ method: 'GET', status: 200, bytes: pkg.size }]);
    const metrics = await (await fetch(`${r.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect({
      misses: value('ferry_relay_cache_misses_total'),
      hitsAndCoalesced: value('ferry_relay_cache_hits_total') + value('ferry_relay_cache_coalesced_total'),
      fetched: value('ferry_relay_bytes_fetched_total'),
      served: value('ferry_relay_bytes_served_total'),
    }).to.deep.equal({ misses: 1, hitsAndCoalesced: 8, fetched: pkg.size, served: 8 * pkg.size + 100 });
  });

  it('serves Range requests from the partial file while the transfer is held; the last byte waits for verification', async () => {
    const r = await startRelay();
    const [a, b] = [await enroll(ctl, r.url, 'site-a'), await enroll(ctl, r.url, 'site-b')];
    const url = `${r.url}/v1/content/${pkg.sha256}`;
    const half = 1024 * 1024;
    proxy.hold(half);
    const whole = get(url, a);
    await proxy.held();
    // Below the high-water mark: answered while upstream is still held.
    const early = await get(url, b, 'bytes=0-65535');
    expect({ status: early.status, body: early.body }).to.deep.equal({ status: 206, body: bytes.subarray(0, 65536) });
    // Above it: waits for the bytes, then gets them.
    const late = get(url, b, `bytes=${pkg.size - 1000}-`);
    proxy.release();
    const [w, l] = await Promise.all([whole, late]);
    expect({ status: w.status, sha: sha(w.body) }).to.deep.equal({ status: 200, sha: pkg.sha256 });
    expect({ status: l.status, body: l.body }).to.deep.equal({ status: 206, body: bytes.subarray(pkg.size - 1000) });
    expect(contentCalls().filter((c) => c.method === 'GET')).to.deep.equal([{ method: 'GET', status: 200, bytes: pkg.size }]);
  });

  it('bytes that fail sha256 are never completed: open responses break, the bad file is not kept, a later ask fetches again', async () => {
    const r = await startRelay();
    const a = await enroll(ctl, r.url, 'site-a');
    const url = `${r.url}/v1/content/${pkg.sha256}`;
    proxy.corrupt(true);
    const outcome = await fetch(url, { headers: { authorization: a } }).then(
      async (res) => {
        try {
          const body = Buffer.from(await res.arrayBuffer());
          return `completed ${res.status} with ${body.length} bytes`;
        } catch {
          return `status ${res.status}, body broken off`;
        }
      },
      () => 'no response',
    );
    expect(outcome).to.equal('status 200, body broken off');
    await r.cache.idle();
    expect((await readdir(join(work, 'relay', 'cache'))).filter((f) => f.startsWith(pkg.sha256))).to.deep.equal([]);
    proxy.corrupt(false);
    const good = await get(url, a);
    expect({ status: good.status, sha: sha(good.body) }).to.deep.equal({ status: 200, sha: pkg.sha256 });
  });

  it('a relay stopped mid-transfer resumes from its partial file: upstream sends each byte once', async () => {
    let r = await startRelay();
    const a = await enroll(ctl, r.url, 'site-a');
    const url = () => `${r.url}/v1/content/${pkg.sha256}`;
    const half = 1024 * 1024;
    proxy.hold(half);
    const broken = get(url(), a).then(
      () => 'completed',
      () => 'broken',
    );
    await proxy.held();
    await eventually(async () => (await stat(join(work, 'relay', 'cache', `${pkg.sha256}.part`)).catch(() => undefined))?.size === half, 'half the artifact on disk');
    const closing = r.close();
    proxy.release();
    await closing;
    expect(await broken).to.equal('broken');
    r = await startRelay();
    const whole = await get(url(), a);
    expect({ status: whole.status, sha: sha(whole.body) }).to.deep.equal({ status: 200, sha: pkg.sha256 });
    const gets = contentCalls().filter((c) => c.method === 'GET');
    expect(gets.map((c) => ({ range: c.range, status: c.status }))).to.deep.equal([
      { range: undefined, status: 200 },
      { range: `bytes=${half}-`, status: 206 },
    ]);
    expect(gets[1]!.bytes).to.equal(pkg.size - half);
  });

  it('tiers: a branch relay whose upstream is a regional relay; hosts behind the branch cost one upstream copy', async () => {
    const regional = await startRelay();
    const branch = await RelayServer.start({ upstream: regional.url, dataDir: join(work, 'branch'), cacheBytes: 1 << 30, host: '127.0.0.1', port: 0, events: new MemorySink() });
    try {
      const auths = await Promise.all(['br-1', 'br-2', 'br-3'].map((h) => enroll(ctl, branch.url, h)));
      const answers = await Promise.all(auths.map((a) => get(`${branch.url}/v1/content/${pkg.sha256}`, a)));
      expect(answers.map((x) => ({ status: x.status, sha: sha(x.body) }))).to.deep.equal(auths.map(() => ({ status: 200, sha: pkg.sha256 })));
      const direct = await get(`${regional.url}/v1/content/${pkg.sha256}`, auths[0]!);
      expect(direct.status).to.equal(200);
      expect(contentCalls().filter((c) => c.method === 'GET')).to.deep.equal([{ method: 'GET', status: 200, bytes: pkg.size }]);
    } finally {
      await branch.close();
    }
  });

  it('answers as the controller does: 416 past the end, 404 for unknown content, 401 without a credential', async () => {
    const r = await startRelay();
    const a = await enroll(ctl, r.url, 'site-a');
    const url = `${r.url}/v1/content/${pkg.sha256}`;
    const past = await fetch(url, { headers: { authorization: a, range: `bytes=${pkg.size}-` } });
    const unknown = await fetch(`${r.url}/v1/content/${'0'.repeat(64)}`, { headers: { authorization: a } });
    const anonymous = await fetch(url);
    const forged = await fetch(url, { headers: { authorization: 'Bearer not-a-credential' } });
    expect([
      { status: past.status, range: past.headers.get('content-range') },
      { status: unknown.status, code: ((await unknown.json()) as { error: { code: string } }).error.code },
      { status: anonymous.status },
      { status: forged.status },
    ]).to.deep.equal([{ status: 416, range: `bytes */${pkg.size}` }, { status: 404, code: 'not-found' }, { status: 401 }, { status: 401 }]);
  });

  it('evicts the least recently used artifact to make room, one a served plan needs only last', async () => {
    const other = await ctl.pushPackage('cam', '1.0.0', packageFiles('cam', '1.0.0', 3 * 1024 * 1024));
    const third = await ctl.pushPackage('doc', '1.0.0', packageFiles('doc', '1.0.0', 3 * 1024 * 1024));
    const r = await startRelay(Math.max(pkg.size, other.size, third.size) * 2 + 1000);
    const a = await enroll(ctl, r.url, 'site-a');
    for (const p of [pkg, other, third]) expect((await get(`${r.url}/v1/content/${p.sha256}`, a)).status).to.equal(200);
    await r.cache.idle();
    const kept = (await readdir(join(work, 'relay', 'cache'))).filter((f) => /^[0-9a-f]{64}$/.test(f)).sort();
    expect(kept).to.deep.equal([other.sha256, third.sha256].sort());
    // A plan the relay forwarded pins its artifacts: the oldest unpinned one goes instead.
    r.store.savePlan('site-a', '"x"', JSON.stringify({ actions: [{ op: 'install', artifact: { sha256: other.sha256 } }] }));
    expect((await get(`${r.url}/v1/content/${pkg.sha256}`, a)).status).to.equal(200);
    await r.cache.idle();
    const after = (await readdir(join(work, 'relay', 'cache'))).filter((f) => /^[0-9a-f]{64}$/.test(f)).sort();
    expect(after).to.deep.equal([pkg.sha256, other.sha256].sort());
  });
});
