/**
 * Proxies from the environment: which proxy a URL takes (a table, as curl reads the variables),
 * and real transfers through a real proxy on loopback — absolute-form GETs for http://, CONNECT
 * tunnels for https://, NO_PROXY going direct — counted at the proxy.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { manualClock } from '../../../lib/clock.js';
import { download } from '../../../lib/transfer/download.js';
import { TransferError } from '../../../lib/transfer/errors.js';
import { bypasses, parseNoProxy, proxyFor, proxySettings, type HttpProxy, type ProxyEnv } from '../../../lib/transfer/proxy.js';
import type { DownloadOptions } from '../../../lib/transfer/types.js';
import { makeContent, selfSignedCertificate, sendFrom, sha256, startContentServer, type ContentServer } from './content-server.js';
import { startProxy, type ProxyServer } from './proxy-server.js';

const fixture = new URL('./fixtures/download-child.ts', import.meta.url).pathname;
const slowSinkFixture = new URL('./fixtures/tunnel-slow-sink.ts', import.meta.url).pathname;
const SIZE = 2 * 1024 * 1024 + 77;
const content = makeContent(SIZE, 13);
const digest = sha256(content);
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('lib/transfer proxies', () => {
  describe('which proxy a URL takes', () => {
    const route = (env: ProxyEnv, url: string): HttpProxy | 'direct' | { error: string } => {
      const settings = proxySettings(env);
      if (settings === undefined) return 'direct';
      try {
        return proxyFor(new URL(url), settings) ?? 'direct';
      } catch (e) {
        expect(e).to.be.instanceOf(TransferError);
        expect((e as TransferError).retryable).to.equal(false);
        return { error: (e as Error).message };
      }
    };
    const cases: { name: string; env: ProxyEnv; url: string; want: ReturnType<typeof route> }[] = [
      { name: 'no variables', env: { NO_PROXY: 'example.com' }, url: 'http://example.com/a', want: 'direct' },
      {
        name: 'lower case wins over upper case',
        env: { http_proxy: 'http://p:3128', HTTP_PROXY: 'http://q:1' },
        url: 'http://example.com/a',
        want: { host: 'p', port: 3128, label: 'http_proxy=http://p:3128' },
      },
      { name: 'an empty lower-case variable turns the proxy off', env: { https_proxy: '', HTTPS_PROXY: 'http://q:1' }, url: 'https://example.com/a', want: 'direct' },
      {
        name: 'HTTPS_PROXY without a scheme, for https only',
        env: { HTTPS_PROXY: 'proxy.corp:8080' },
        url: 'https://example.com/a',
        want: { host: 'proxy.corp', port: 8080, label: 'HTTPS_PROXY=http://proxy.corp:8080' },
      },
      { name: 'HTTPS_PROXY does not apply to http://', env: { HTTPS_PROXY: 'proxy.corp:8080' }, url: 'http://example.com/a', want: 'direct' },
      {
        name: 'credentials become Proxy-Authorization and stay out of the label; port 80 by default',
        env: { HTTP_PROXY: 'http://user:pa%40ss@p' },
        url: 'http://example.com/a',
        want: { host: 'p', port: 80, authorization: basic('user', 'pa@ss'), label: 'HTTP_PROXY=http://p' },
      },
      {
        name: 'an IPv6 proxy',
        env: { HTTPS_PROXY: 'http://[::1]:3128' },
        url: 'https://example.com/a',
        want: { host: '::1', port: 3128, label: 'HTTPS_PROXY=http://[::1]:3128' },
      },
      {
        name: 'a socks proxy is refused with what to do',
        env: { HTTPS_PROXY: 'socks5://p:1080' },
        url: 'https://example.com/a',
        want: { error: 'HTTPS_PROXY: socks5:// proxies are not supported; use an http:// proxy' },
      },
      {
        name: 'an unreadable proxy is refused without repeating it (it may hold a password)',
        env: { HTTP_PROXY: 'http://us er:secret@p:99999' },
        url: 'http://example.com/a',
        want: { error: 'HTTP_PROXY is not a proxy URL (expected http://HOST:PORT)' },
      },
      { name: 'NO_PROXY goes before an unusable proxy', env: { HTTPS_PROXY: 'socks5://p', NO_PROXY: 'example.com' }, url: 'https://example.com/a', want: 'direct' },
    ];
    for (const c of cases) it(c.name, () => expect(route(c.env, c.url)).to.deep.equal(c.want));

    const noProxy: [string, string, boolean][] = [
      ['*', 'http://anything.example:8080/x', true],
      ['a.com,*', 'http://b.com/x', false],
      ['example.com', 'http://example.com/x', true],
      ['example.com', 'https://www.example.com:8443/x', true],
      ['example.com', 'http://notexample.com/x', false],
      ['example.com', 'http://example.com.evil.net/x', false],
      ['.example.com', 'http://example.com/x', true],
      ['*.example.com', 'http://a.b.example.com/x', true],
      ['EXAMPLE.com.', 'https://Www.Example.COM./x', true],
      ['example.com:8080', 'http://example.com:8080/x', true],
      ['example.com:8080', 'http://example.com/x', false],
      ['example.com:443', 'https://example.com/x', true],
      ['10.0.0.0/8', 'http://10.1.2.3/x', true],
      ['10.0.0.0/8', 'http://11.1.2.3/x', false],
      ['127.0.0.1', 'http://127.0.0.1:9/x', true],
      ['127.0.0.1', 'http://localhost/x', false],
      ['::1', 'http://[::1]:9/x', true],
      ['[::1]:9', 'http://[::1]:9/x', true],
      ['[::1]:9', 'http://[::1]:10/x', false],
      ['fd00::/8', 'http://[fd12::1]/x', true],
      ['localhost, 127.0.0.1', 'http://localhost/x', true],
      ['a.com b.com', 'http://b.com/x', true],
      ['', 'http://b.com/x', false],
    ];
    it('NO_PROXY matches as curl does (names and their subdomains, IPs and CIDR blocks, `*` alone), plus HOST:PORT entries', () => {
      const got = noProxy.map(([list, url]) => [list, url, bypasses(parseNoProxy(list), new URL(url))]);
      expect(got).to.deep.equal(noProxy);
    });
  });

  describe('through a real proxy on loopback', () => {
    let server: ContentServer;
    let proxy: ProxyServer;
    let dir: string;
    const options = (dest: string, env: ProxyEnv, over: Partial<DownloadOptions> = {}): DownloadOptions => ({
      sources: [{ name: 's', url: `${server.url}/good`, headers: { authorization: 'Bearer host' } }],
      sha256: digest,
      size: SIZE,
      dest,
      clock: manualClock(0),
      maxRetries: 0,
      env,
      ...over,
    });
    const seen = (s: ContentServer) => s.requests.map(({ at: _at, ...r }) => r);

    beforeEach(async () => {
      server = await startContentServer({ '/good': content });
      dir = mkdtempSync(join(tmpdir(), 'ferry-proxy-'));
    });
    afterEach(async () => {
      await Promise.all([server.close(), proxy?.close()]);
      rmSync(dir, { recursive: true, force: true });
    });

    it('sends an http:// URL to HTTP_PROXY as an absolute-form GET with its credentials, the Range and the source headers', async () => {
      const credentials = basic('agent', 'se:cret');
      proxy = await startProxy(credentials);
      const dest = join(dir, 'a');
      writeFileSync(`${dest}.part`, content.subarray(0, 1_000_000));
      const env = { HTTP_PROXY: `http://agent:se%3Acret@127.0.0.1:${new URL(proxy.url).port}` };
      const result = await download(options(dest, env));
      expect(result).to.deep.equal({ ok: true, path: dest, bytesFetched: SIZE - 1_000_000, source: 's', attempts: [] });
      expect(sha256(readFileSync(dest))).to.equal(digest);
      expect(proxy.requests).to.deep.equal([{ method: 'GET', target: `${server.url}/good`, proxyAuthorization: credentials }]);
      expect(seen(server)).to.deep.equal([{ path: '/good', range: 'bytes=1000000-', authorization: 'Bearer host', status: 206 }]);
    });

    it('goes direct for the hosts NO_PROXY names, and through the proxy for the others', async () => {
      proxy = await startProxy();
      const port = new URL(server.url).port;
      const lists = ['127.0.0.1', '127.0.0.0/8', '*', `127.0.0.1:${port}`, 'example.com, 127.0.0.1', `127.0.0.1:${Number(port) + 1}`, 'example.com', ''];
      const routes: [string, 'direct' | 'proxy'][] = [];
      for (const [i, list] of lists.entries()) {
        const before = proxy.requests.length;
        const result = await download(options(join(dir, `n${i}`), { http_proxy: proxy.url, no_proxy: list }));
        expect(result.ok, list).to.equal(true);
        routes.push([list, proxy.requests.length > before ? 'proxy' : 'direct']);
      }
      expect(routes).to.deep.equal([
        ['127.0.0.1', 'direct'],
        ['127.0.0.0/8', 'direct'],
        ['*', 'direct'],
        [`127.0.0.1:${port}`, 'direct'],
        ['example.com, 127.0.0.1', 'direct'],
        [`127.0.0.1:${Number(port) + 1}`, 'proxy'],
        ['example.com', 'proxy'],
        ['', 'proxy'],
      ]);
      expect(server.requests).to.have.length(lists.length);
    });

    it('fails a source for good when the proxy wants credentials (GET and CONNECT), and retryably when it is unreachable', async () => {
      proxy = await startProxy(basic('agent', 'secret'));
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const proxyPort = new URL(proxy.url).port;
      const httpsUrl = `https://127.0.0.1:${new URL(server.url).port}/good`;
      const results = [
        await download(options(join(dir, 'g'), { HTTP_PROXY: proxy.url })),
        await download(options(join(dir, 'c'), { HTTPS_PROXY: proxy.url }, { sources: [{ name: 's', url: httpsUrl }] })),
        await download(options(join(dir, 'u'), { HTTP_PROXY: `http://127.0.0.1:${closedPort}` })),
      ].map((r) => (r.ok ? r : r.attempts));
      expect(results).to.deep.equal([
        [{ source: 's', error: 'HTTP 407 Proxy Authentication Required', status: 407, retryable: false }],
        [
          {
            source: 's',
            error: `proxy HTTPS_PROXY=http://127.0.0.1:${proxyPort} refused CONNECT 127.0.0.1:${new URL(server.url).port}: HTTP/1.1 407 Proxy Authentication Required`,
            status: 407,
            retryable: false,
          },
        ],
        [
          {
            source: 's',
            error: `network error via proxy HTTP_PROXY=http://127.0.0.1:${closedPort}: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
            retryable: true,
          },
        ],
      ]);
      expect(proxy.requests.map((r) => [r.method, r.target])).to.deep.equal([
        ['GET', `${server.url}/good`],
        ['CONNECT', `127.0.0.1:${new URL(server.url).port}`],
      ]);
      expect(server.requests).to.deep.equal([]);
    });

    it('refuses a header that would break out of its line before it opens a tunnel', async () => {
      proxy = await startProxy();
      const url = `https://127.0.0.1:${new URL(server.url).port}/good`;
      const result = await download(options(join(dir, 'h'), { HTTPS_PROXY: proxy.url }, { sources: [{ name: 's', url, headers: { authorization: 'x\r\nX-Evil: 1' } }] }));
      expect(result.attempts).to.deep.equal([{ source: 's', error: 'invalid request header "authorization"', retryable: false }]);
      expect(proxy.requests).to.deep.equal([]);
    });

    describe('https:// through a CONNECT tunnel (in a child process that trusts the test certificate)', () => {
      let tlsServer: https.Server;
      let port: number;
      let cert: string;
      let body: Buffer;
      const ranges: (string | undefined)[] = [];
      beforeEach(async () => {
        const pair = selfSignedCertificate(dir);
        cert = pair.cert;
        body = content;
        ranges.length = 0;
        tlsServer = https.createServer({ key: readFileSync(pair.key), cert: readFileSync(cert) }, (req, res) => {
          ranges.push(req.headers.range);
          sendFrom(req, res, body);
        });
        await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
        port = (tlsServer.address() as AddressInfo).port;
      });
      afterEach(async () => {
        tlsServer.closeAllConnections();
        await new Promise((resolve) => tlsServer.close(resolve));
      });
      /** Runs a fixture with HTTPS_PROXY (only) set and the certificate trusted; its stdout as JSON. */
      const child = (script: string, args: string[]) => {
        const env: NodeJS.ProcessEnv = { ...process.env, HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: cert };
        for (const name of ['https_proxy', 'no_proxy', 'NO_PROXY']) delete env[name];
        return new Promise<unknown>((resolve, reject) => {
          const p = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          p.stdout.on('data', (d) => (out += d));
          p.once('error', reject);
          p.once('exit', () => resolve(JSON.parse(out)));
        });
      };

      it('tunnels with CONNECT, TLS end to end, resuming with Range (the proxy taken from process.env)', async function () {
        this.timeout(30_000);
        proxy = await startProxy();
        const dest = join(dir, 'tls', 'artifact');
        mkdirSync(dirname(dest), { recursive: true });
        writeFileSync(`${dest}.part`, content.subarray(0, 1_000_000));
        const childOptions = { sources: [{ name: 's', url: `https://127.0.0.1:${port}/x` }], sha256: digest, size: SIZE, dest, maxRetries: 0 };
        const result = await child(fixture, [JSON.stringify(childOptions)]);
        expect(result).to.deep.equal({ ok: true, path: dest, bytesFetched: SIZE - 1_000_000, source: 's', attempts: [] });
        expect(sha256(readFileSync(dest))).to.equal(digest);
        expect(proxy.requests).to.deep.equal([{ method: 'CONNECT', target: `127.0.0.1:${port}` }]);
        expect(ranges).to.deep.equal(['bytes=1000000-']);
      });

      it('stops reading the tunnel while the sink is behind (at most 16 slabs held) and resumes, losing nothing', async function () {
        this.timeout(30_000);
        proxy = await startProxy();
        body = makeContent(32 * 1024 * 1024, 7);
        const { most, ...result } = (await child(slowSinkFixture, [`https://127.0.0.1:${port}/x`, proxy.url])) as { most: number };
        expect(result).to.deep.equal({ sha256: sha256(body) });
        expect(most).to.be.within(16, 17); // reading stopped at 16 (the rest of one piece the tunnel gave may land as it stops)
        expect(proxy.requests).to.deep.equal([{ method: 'CONNECT', target: `127.0.0.1:${port}` }]);
      });
    });
  });
});
