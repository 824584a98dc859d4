/**
 * Fuzzes every endpoint with random and mutated requests: methods, paths built from the
 * real route templates with mutated segments, bodies derived from valid ones, broken JSON,
 * huge strings, wrong content types and random header values. Asserts: never a 5xx, the
 * server keeps answering, and a refused (4xx) request leaves the store as it was.
 * The PRNG is seeded: FERRY_FUZZ_SEED=<n> reproduces a run.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { startHarness, type Harness } from './harness.js';

/** mulberry32: small, fast, seedable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

interface FuzzReply {
  status: number;
  body: string;
}

const seed = Number(process.env['FERRY_FUZZ_SEED'] ?? 20261124);
const count = Number(process.env['FERRY_FUZZ_COUNT'] ?? 1500);

describe('API fuzz', function () {
  this.timeout(120_000);
  let h: Harness;
  let agent: Agent;
  const creds: Record<string, string> = {};
  let enrollToken = '';
  const blob = randomBytes(4096);
  const blobSha = createHash('sha256').update(blob).digest('hex');

  before(async () => {
    h = await startHarness({ enrollRateLimit: { perMinute: 100_000, burst: 100_000 }, webhookSecret: 'fuzz-secret' });
    agent = new Agent({ keepAlive: true, maxSockets: 4 });
    for (const host of ['f1', 'f2']) creds[host] = await h.enroll(host);
    await h.seedPlan('f1');
    await h.seedPlan('f2');
    enrollToken = (await h.store.createToken({ ttlMs: 3_600_000, now: new Date() })).token;
    await h.content.put(Readable.from([blob]), blobSha);
    await h.request('POST', '/v1/hosts/f1/reports', {
      token: creds['f1']!,
      json: { results: [{ id: 'seed-1', actionId: 'd1/p@1.0.0/install', serial: 1, state: 'installed', at: '2026-01-01T00:00:00Z' }] },
    });
  });
  after(async () => {
    agent.destroy();
    await h.close();
  });

  /** Everything the store and content store hold that a request could change. */
  async function snapshot(): Promise<string> {
    const hosts = await h.store.listHosts({ limit: 10_000 });
    const per = await Promise.all(hosts.hosts.map(async (x) => [x, await h.store.getInventory(x.host), await h.store.getPlan(x.host), await h.store.history(x.host)]));
    const content = await readdir(join(h.dir, 'content'), { recursive: true });
    return JSON.stringify({
      hosts: per,
      states: await h.store.currentStates(),
      overrides: await h.store.listOverrides(),
      source: await h.store.getSourceStatus(),
      content: content.sort(),
    });
  }

  const quieted = new WeakSet<object>();
  function send(r: FuzzRequest): Promise<FuzzReply> {
    return new Promise((resolve, reject) => {
      const url = new URL(h.url);
      const req = httpRequest({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers: r.headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      // The server may answer (and close) before reading a large body; the unsent rest fails
      // on the socket after the reply is complete. That is the client's concern, not the test's.
      req.on('socket', (socket) => {
        if (quieted.has(socket)) return;
        quieted.add(socket);
        socket.on('error', () => undefined);
      });
      req.end(r.body);
    });
  }

  it(`sends ${count} random and mutated requests: no 5xx, no crash, refusals change nothing (seed ${seed})`, async () => {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const chance = (p: number): boolean => rnd() < p;
    const randomString = (max: number): string => {
      const alphabet = 'abcXYZ019-_.~%/\\:@!$&\'()*+,;=?#[] \u00e9\u4e2d\u0000\u202e"{}<>';
      let s = '';
      const n = Math.floor(rnd() * max);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      return s;
    };
    /** Any byte a header value may carry on the wire (visible ASCII, space, tab, Latin-1). */
    const headerString = (max: number): string => {
      let out = '';
      const n = Math.floor(rnd() * max);
      for (let i = 0; i < n; i++) {
        const k = rnd();
        out += String.fromCharCode(k < 0.8 ? 0x20 + Math.floor(rnd() * 95) : k < 0.85 ? 9 : 0xa0 + Math.floor(rnd() * 96));
      }
      return out;
    };
    const segmentValues = () => [
      'f1',
      'f2',
      'nope',
      'F1',
      '..',
      '.',
      '',
      '%2e%2e',
      '%2F',
      '%00',
      '%E0%A4%A',
      'a'.repeat(64),
      'A'.repeat(300),
      blobSha,
      blobSha.toUpperCase(),
      'editor-2-4',
      'd1',
      encodeURIComponent(randomString(40)),
      '%ZZ',
      '-x-',
      'x'.repeat(10_000),
    ];

    const validBodies: Record<string, unknown> = {
      '/v1/enroll': { token: enrollToken, host: 'fuzzed', facts: { os: { platform: 'linux' } }, labels: { a: 'b' } },
      '/v1/hosts/:host/inventory': { facts: { os: { platform: 'linux' }, cpus: 2 }, labels: {}, software: [{ name: 'x', version: '1', source: 'dpkg' }] },
      '/v1/hosts/:host/reports': {
        results: [{ id: 'r-1', actionId: 'd1/p@1.0.0/install', serial: 1, state: 'installed', at: '2026-01-02T00:00:00Z', exitCode: 0 }],
      },
      '/v1/tokens': { ttl: '1h' },
      '/v1/deployments/:name/suspend': { by: 'fuzz' },
      '/v1/deployments/:name/resume': {},
      '/v1/hosts/:host/reset': {},
      '/v1/source/refresh': {},
      '/v1/source/webhook': { ref: 'refs/heads/main' },
    };
    const randomJson = (depth: number): unknown => {
      const k = rnd();
      if (depth > 4 || k < 0.2) return pick([null, true, false, 0, -1, 1e308, 2 ** 53 + 1, 0.5, '', randomString(30), 'x'.repeat(70_000)]);
      if (k < 0.5) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomJson(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(rnd() * 4); i++)
        o[pick(['token', 'host', 'facts', 'labels', 'software', 'results', 'ttl', 'by', '__proto__', 'constructor', randomString(8)])] = randomJson(depth + 1);
      return o;
    };
    const mutate = (value: unknown, depth = 0): unknown => {
      if (value === null || typeof value !== 'object' || depth > 5) return chance(0.3) ? randomJson(depth) : value;
      if (Array.isArray(value)) {
        const copy = value.map((v) => (chance(0.5) ? mutate(v, depth + 1) : v));
        if (chance(0.2)) copy.push(randomJson(depth + 1));
        if (chance(0.1)) return Array.from({ length: 2000 }, () => copy[0]);
        return copy;
      }
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      const keys = Object.keys(copy);
      const op = rnd();
      if (op < 0.25 && keys.length > 0) delete copy[pick(keys)];
      else if (op < 0.5 && keys.length > 0) copy[pick(keys)] = randomJson(depth + 1);
      else if (op < 0.65) copy[randomString(10)] = randomJson(depth + 1);
      else if (keys.length > 0) {
        const key = pick(keys);
        copy[key] = mutate(copy[key], depth + 1);
      }
      return copy;
    };

    const templates = h.api.routes;
    const tokens = () => [undefined, h.adminToken, creds['f1']!, creds['f2']!, 'garbage', headerString(600), `${h.adminToken}x`];
    const methods = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'FOO'];
    const contentTypes = [
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/merge-patch+json',
      '',
      '*/*',
      'application/octet-stream',
    ];

    const build = (): FuzzRequest => {
      const route = pick(templates);
      const method = chance(0.75) ? route.method : pick(methods);
      let path = route.path.replace(/:(\w+)/g, (_m, name: string) => {
        if (chance(0.6)) return name === 'sha256' ? blobSha : name === 'host' ? pick(['f1', 'f2']) : pick(['editor-2-4', 'd1']);
        return pick(segmentValues());
      });
      if (chance(0.1)) path = path.replace(/\/[^/]*$/, `/${pick(segmentValues())}`);
      if (chance(0.05)) path += pick(['/', '//', '/extra', '/..', '%2f..']);
      if (chance(0.25)) {
        const q = pick([
          'offset=1&limit=2',
          'limit=0',
          'limit=abc',
          'offset=-1',
          'state=failed',
          'state=enrolled',
          'state=%ZZ',
          'history=3',
          'a=1&a=2',
          `x=${'y'.repeat(5000)}`,
          'limit[]=1',
          '__proto__=1',
        ]);
        path += `?${q}`;
      }
      const headers: Record<string, string> = {};
      const token = chance(0.85)
        ? route.auth === 'admin'
          ? h.adminToken
          : route.auth === 'host' || route.auth === 'any'
            ? pick([creds['f1']!, h.adminToken])
            : undefined
        : pick(tokens());
      if (token !== undefined) headers['authorization'] = chance(0.95) ? `Bearer ${token}` : pick([token, `Basic ${token}`, 'Bearer', `bearer  ${token}`]);
      let body: Buffer | undefined;
      const valid = validBodies[route.path];
      const kind = rnd();
      if (route.path === '/v1/content/:sha256' && method === 'PUT') {
        body = chance(0.5) ? blob : randomBytes(Math.floor(rnd() * 10_000));
        headers['content-type'] = 'application/octet-stream';
      } else if (kind < 0.45 && valid !== undefined) {
        body = Buffer.from(JSON.stringify(mutate(valid)));
      } else if (kind < 0.55 && valid !== undefined) {
        const text = JSON.stringify(valid);
        body = Buffer.from(text.slice(0, Math.floor(rnd() * text.length)));
      } else if (kind < 0.65) {
        body = Buffer.from(JSON.stringify(randomJson(0)));
      } else if (kind < 0.68) {
        body = Buffer.from(JSON.stringify({ token: 'x'.repeat(chance(0.5) ? 2_000_000 : 5_000_000) }));
      } else if (kind < 0.72) {
        body = randomBytes(Math.floor(rnd() * 2000));
      } else if (kind < 0.8 && valid !== undefined) {
        body = Buffer.from(JSON.stringify(valid));
      }
      if (body !== undefined && headers['content-type'] === undefined) {
        const ct = chance(0.7) ? 'application/json' : pick(contentTypes);
        if (ct !== '') headers['content-type'] = ct;
      }
      if (chance(0.1)) headers['if-none-match'] = pick(['*', '"abc"', 'W/"x"', headerString(50), `"${'a'.repeat(64)}"`]);
      if (chance(0.1)) headers['range'] = pick(['bytes=0-10', 'bytes=-1', 'bytes=5000-', 'bytes=10-5', 'bytes=0-1,3-4', 'items=0-1', headerString(30)]);
      if (chance(0.05)) headers['content-encoding'] = pick(['gzip', 'br', 'identity', 'x-unknown']);
      if (chance(0.05)) headers['x-hub-signature-256'] = pick([`sha256=${'a'.repeat(64)}`, 'sha1=abc', headerString(80)]);
      if (chance(0.05)) headers['accept'] = pick(['text/html', '*/*', headerString(20)]);
      return { method, path, headers, ...(body !== undefined && { body }) };
    };

    const describe = (r: FuzzRequest) =>
      `${r.method} ${r.path.slice(0, 200)} headers=${JSON.stringify(r.headers).slice(0, 300)} body=${r.body?.toString('utf8').slice(0, 200) ?? ''}`;
    let baseline = await snapshot();
    const statuses = new Map<number, number>();
    let sent = 0;
    for (let i = 0; i < count; i++) {
      const r = build();
      let reply: FuzzReply;
      if (process.env['FERRY_FUZZ_DEBUG']) console.log('send', i, describe(r).slice(0, 300));
      try {
        reply = await send(r);
      } catch (err) {
        if (process.env['FERRY_FUZZ_DEBUG']) console.log('client error', i, String(err), describe(r));
        // The client refused to send it (e.g. an invalid path character) or the server closed
        // the connection on an oversized body: neither reaches a handler. The server must still answer.
        const health = await h.request('GET', '/healthz', { token: null });
        expect(health.status, `after #${i} ${describe(r)}: ${String(err)}`).to.equal(200);
        continue;
      }
      sent++;
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      expect(reply.status, `#${i} (seed ${seed}) ${describe(r)} → ${reply.body.slice(0, 300)}`).to.be.below(500);
      if (reply.status >= 400 && r.method !== 'HEAD' && reply.body !== '') {
        const parsed = JSON.parse(reply.body) as { error?: { code?: unknown; message?: unknown } };
        expect(parsed.error?.code, `#${i} ${describe(r)}`).to.be.a('string');
        expect(parsed.error?.message).to.be.a('string');
      }
      const after = await snapshot();
      if (reply.status >= 400) expect(after, `#${i} (seed ${seed}) ${describe(r)} → ${reply.status} changed the store`).to.equal(baseline);
      baseline = after;
    }
    if (process.env['FERRY_FUZZ_DEBUG'])
      console.log(
        'statuses',
        [...statuses].sort((a, b) => a[0] - b[0]),
      );
    expect(sent).to.be.at.least(1000);
    expect((await h.request('GET', '/healthz', { token: null })).status).to.equal(200);
    // Every kind of answer occurred, not only refusals.
    const codes = [...statuses.keys()];
    expect(codes.some((c) => c >= 200 && c < 300)).to.equal(true);
    for (const c of [400, 401, 404, 405]) expect(codes, `status ${c} never seen: ${JSON.stringify([...statuses])}`).to.include(c);
  });
});
