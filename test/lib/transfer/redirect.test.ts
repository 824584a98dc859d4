/** Redirects: followed across servers with Range kept and credentials left behind; loops and long chains fail for good. */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { manualClock } from '../../../lib/clock.js';
import { download } from '../../../lib/transfer/download.js';
import type { DownloadOptions } from '../../../lib/transfer/types.js';
import { makeContent, sha256, startContentServer, type ContentServer, type Redirect } from './content-server.js';

const SIZE = 2 * 1024 * 1024 + 321;
const content = makeContent(SIZE, 11);
const digest = sha256(content);
const authorization = 'Bearer host-credential';

/** What a server saw, without the times. */
const seen = (server: ContentServer) => server.requests.map(({ at: _at, ...r }) => r);

describe('lib/transfer redirects', () => {
  const servers: ContentServer[] = [];
  let dir: string;
  let dest: string;
  const serve = async (redirects: Record<string, Redirect>) => {
    const s = await startContentServer({ '/good': content }, redirects);
    servers.push(s);
    return s;
  };
  const options = (url: string, over: Partial<DownloadOptions> = {}): DownloadOptions => ({
    sources: [{ name: 's', url, headers: { authorization } }],
    sha256: digest,
    size: SIZE,
    dest,
    clock: manualClock(0),
    env: {},
    ...over,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-redirect-'));
    dest = join(dir, 'a', 'artifact');
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('follows a redirect to another port, resuming with the same Range and without the Authorization header', async () => {
    const b = await serve({});
    const a = await serve({ '/start': { status: 302, location: `${b.url}/good` } });
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(`${dest}.part`, content.subarray(0, 1_000_000));
    const result = await download(options(`${a.url}/start`));
    expect(result).to.deep.equal({ ok: true, path: dest, bytesFetched: SIZE - 1_000_000, source: 's', attempts: [] });
    expect(sha256(readFileSync(dest))).to.equal(digest);
    expect(seen(a)).to.deep.equal([{ path: '/start', range: 'bytes=1000000-', authorization, status: 302 }]);
    expect(seen(b)).to.deep.equal([{ path: '/good', range: 'bytes=1000000-', status: 206 }]);
  });

  it('follows 301, 302, 303, 307 and 308 with relative Locations on one origin, keeping its credentials (five redirects: the most)', async () => {
    const redirects: Record<string, Redirect> = {
      '/a': { status: 301, location: 'b' },
      '/b': { status: 302, location: '/dir/c' },
      '/dir/c': { status: 303, location: '../d' },
      '/d': { status: 307, location: 'e?x=1' },
    };
    const s = await serve(redirects);
    redirects['/e'] = { status: 308, location: `//${new URL(s.url).host}/good#fragment` };
    const result = await download(options(`${s.url}/a`));
    expect(result).to.deep.equal({ ok: true, path: dest, bytesFetched: SIZE, source: 's', attempts: [] });
    expect(seen(s)).to.deep.equal([
      { path: '/a', authorization, status: 301 },
      { path: '/b', authorization, status: 302 },
      { path: '/dir/c', authorization, status: 303 },
      { path: '/d', authorization, status: 307 },
      { path: '/e', authorization, status: 308 },
      { path: '/good', authorization, status: 200 },
    ]);
  });

  it('gives up, without retrying, after a sixth redirect, a loop, a 3xx without Location, and a Location that is not http(s)', async () => {
    const s = await serve({
      '/r1': { status: 302, location: '/r2' },
      '/r2': { status: 302, location: '/r3' },
      '/r3': { status: 302, location: '/r4' },
      '/r4': { status: 302, location: '/r5' },
      '/r5': { status: 302, location: '/r6' },
      '/r6': { status: 302, location: '/good' },
      '/loop-a': { status: 307, location: '/loop-b' },
      '/loop-b': { status: 307, location: '/loop-a' },
      '/nowhere': { status: 301 },
      '/ftp': { status: 302, location: 'ftp://127.0.0.1/good' },
    });
    const sources = ['r1', 'loop-a', 'nowhere', 'ftp'].map((name) => ({ name, url: `${s.url}/${name}` }));
    const result = await download(options(s.url, { sources }));
    const lastError = `HTTP 302 from ${s.url}/ftp to ftp://127.0.0.1/good: unsupported protocol ftp:`;
    expect(result).to.deep.equal({
      ok: false,
      reason: 'failed',
      message: `all 4 source(s) failed; last: ftp: ${lastError}`,
      bytesDone: 0,
      bytesFetched: 0,
      attempts: [
        { source: 'r1', error: `more than 5 redirects, from ${s.url}/r1 to ${s.url}/good`, status: 302, retryable: false },
        { source: 'loop-a', error: `redirect loop: ${s.url}/loop-a -> ${s.url}/loop-b -> ${s.url}/loop-a`, status: 307, retryable: false },
        { source: 'nowhere', error: `HTTP 301 from ${s.url}/nowhere without a Location`, status: 301, retryable: false },
        { source: 'ftp', error: lastError, retryable: false },
      ],
    });
    expect(seen(s).map((r) => r.path)).to.deep.equal(['/r1', '/r2', '/r3', '/r4', '/r5', '/r6', '/loop-a', '/loop-b', '/nowhere', '/ftp']);
  });
});
