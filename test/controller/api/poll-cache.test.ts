/**
 * The plan poll at real agent timing (every 60 s ±20%): credentials and ETags stay in memory while
 * they are valid, last seen is written in batches, and a plan change drops only its own host.
 * Store calls are counted through the real store (harness `onStoreCall`); time is a manual clock.
 */
import { expect } from 'chai';
import { manualClock } from '../../../lib/clock.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sha256Hex } from '../../../controller/api/auth.js';
import { PlanPoller } from '../../../controller/api/fast-plan.js';
import { SeenRecorder } from '../../../controller/api/seen.js';
import type { ApiStore } from '../../../controller/api/store-port.js';
import { createMetrics } from '../../../controller/metrics/metrics.js';
import { openStore } from '../../../controller/store/index.js';
import type { Store } from '../../../controller/store/store.js';
import { eventually } from '../../support/eventually.js';
import { startHarness, type Harness } from './harness.js';

describe('plan poll cache (real poll timing)', () => {
  const clock = manualClock('2026-12-01T09:00:00Z');
  let calls: string[];
  let h: Harness;
  beforeEach(async () => {
    calls = [];
    h = await startHarness({ clock, planCacheMs: 50, enrollRateLimit: { perMinute: 600, burst: 100 }, onStoreCall: (m) => calls.push(m) });
  });
  afterEach(async () => h.close());

  const poll = (host: string, credential: string, etag?: string) =>
    h.request('GET', `/v1/hosts/${host}/plan`, { token: credential, ...(etag !== undefined && { headers: { 'if-none-match': etag } }) });
  /** The calls a poll made, ignoring the fleet-wide syncs of the versions a timer runs (one small read each, whatever the fleet). */
  const perHost = () => calls.filter((m) => m !== 'plansVersion' && m !== 'credentialsVersion');

  it('answers polls 61 s, 10 min and 45 min after the last from memory: no store call, no write', async () => {
    const credential = await h.enroll('clt1');
    await h.seedPlan('clt1');
    const first = await poll('clt1', credential);
    expect(first.status).to.equal(200);
    const etag = first.headers.get('etag')!;
    for (const gapMs of [61_000, 600_000, 45 * 60_000]) {
      clock.advance(gapMs);
      calls.length = 0;
      const again = await poll('clt1', credential, etag);
      expect({ gapMs, status: again.status, etag: again.headers.get('etag'), calls: perHost() }).to.deep.equal({ gapMs, status: 304, etag, calls: [] });
    }
  });

  it('a plan saved for one host drops that host only; the others keep answering from memory', async () => {
    const a = await h.enroll('clt-a');
    const b = await h.enroll('clt-b');
    await h.seedPlan('clt-a');
    await h.seedPlan('clt-b');
    const etagA = (await poll('clt-a', a)).headers.get('etag')!;
    const etagB = (await poll('clt-b', b)).headers.get('etag')!;
    clock.advance(1000);
    const newer = await h.seedPlan('clt-a', 'main@sha1:2222');
    // Within one sync (50 ms of real time) the new plan is served.
    await eventually(async () => (await poll('clt-a', a, etagA)).status === 200, 'the new plan of clt-a', 5000);
    calls.length = 0;
    const fresh = await poll('clt-a', a, etagA);
    expect(fresh.text).to.equal(newer);
    calls.length = 0;
    const other = await poll('clt-b', b, etagB);
    expect({ status: other.status, calls: perHost() }).to.deep.equal({ status: 304, calls: [] });
  });

  it('a document re-signed with the same serial (its expiry moved, a key rotation) is served within one sync, even when other plans were raised meanwhile', async () => {
    const a = await h.enroll('clt-s');
    await h.enroll('clt-t');
    await h.seedPlan('clt-s');
    await h.seedPlan('clt-t');
    const etagA = (await poll('clt-s', a)).headers.get('etag')!;
    clock.advance(1000);
    // Another host's serial rises in the same sync window, so the sync has a list of changed plans.
    await h.seedPlan('clt-t', 'main@sha1:2222');
    const record = (await h.store.getPlan('clt-s'))!;
    expect(await h.store.putSignedPlans([{ host: 'clt-s', serial: record.serial, signed: '{"resigned":true}', signedAt: new Date(clock.now()) }])).to.equal(1);
    await eventually(async () => (await poll('clt-s', a, etagA)).status === 200, 'the re-signed document of clt-s', 5000);
    expect((await poll('clt-s', a)).text).to.equal('{"resigned":true}');
  });

  it('a credential revoked by another replica (straight in the store) is refused within one sync', async () => {
    const credential = await h.enroll('clt-r');
    await h.seedPlan('clt-r');
    const etag = (await poll('clt-r', credential)).headers.get('etag')!;
    expect((await poll('clt-r', credential, etag)).status).to.equal(304);
    clock.advance(1000);
    await h.store.resetHost('clt-r', new Date(clock.now()));
    await eventually(async () => (await poll('clt-r', credential, etag)).status === 401, 'the revoked credential refused', 5000);
  });

  it("answers a repeated full poll from memory, and only with the host's own document", async () => {
    const a = await h.enroll('clt-m');
    const b = await h.enroll('clt-n');
    const docA = await h.seedPlan('clt-m');
    await h.seedPlan('clt-n');
    expect((await poll('clt-m', a)).text).to.equal(docA);
    expect((await poll('clt-n', b)).status).to.equal(200);
    calls.length = 0;
    const again = await poll('clt-m', a);
    const head = await h.request('HEAD', '/v1/hosts/clt-m/plan', { token: a });
    expect({ status: again.status, text: again.text, length: again.headers.get('content-length'), head: head.status, headText: head.text, calls: perHost() }).to.deep.equal({
      status: 200,
      text: docA,
      length: String(Buffer.byteLength(docA)),
      head: 200,
      headText: '',
      calls: [],
    });
    // clt-n's document is in memory too: clt-m's credential still cannot read it.
    expect((await poll('clt-n', a)).status).to.equal(404);
  });

  it('a reset through this controller refuses the old credential at once, with its document in memory', async () => {
    const credential = await h.enroll('clt-z');
    await h.seedPlan('clt-z');
    const first = await poll('clt-z', credential);
    expect((await poll('clt-z', credential)).status).to.equal(200);
    expect((await h.request('POST', '/v1/hosts/clt-z/reset')).status).to.equal(200);
    // No sync in between: the manual clock stands still and the answer must not wait for one.
    const after = await Promise.all([poll('clt-z', credential), poll('clt-z', credential, first.headers.get('etag')!)]);
    expect(after.map((r) => r.status)).to.deep.equal([401, 401]);
  });

  it('a plan saved for a host replaces its document in memory', async () => {
    const credential = await h.enroll('clt-q');
    await h.seedPlan('clt-q');
    await poll('clt-q', credential);
    clock.advance(1000);
    const newer = await h.seedPlan('clt-q', 'main@sha1:3333');
    await eventually(async () => (await poll('clt-q', credential)).text === newer, 'the new document of clt-q', 5000);
    calls.length = 0;
    expect({ text: (await poll('clt-q', credential)).text, calls: perHost() }).to.deep.equal({ text: newer, calls: [] });
  });

  it('inventory and reports of a known host take no credential lookup', async () => {
    const credential = await h.enroll('clt-w');
    calls.length = 0;
    const facts = { os: { platform: 'linux' } };
    const inv = await h.request('PUT', '/v1/hosts/clt-w/inventory', { token: credential, json: { facts, labels: {}, software: [] } });
    const rep = await h.request('POST', '/v1/hosts/clt-w/reports', {
      token: credential,
      json: { results: [{ id: 'r1', actionId: 'd/p@1/install', serial: 1, state: 'installed', at: '2026-12-01T09:00:00Z' }] },
    });
    expect({ inventory: inv.status, reports: rep.status, calls: perHost() }).to.deep.equal({ inventory: 200, reports: 200, calls: ['putInventories', 'ingestReportBatches'] });
  });
});

describe('SeenRecorder (last seen in batches)', () => {
  it('writes the hosts heard from in one call, never moving a time backwards', async () => {
    const store = await openStore('sqlite::memory:');
    const writes: number[] = [];
    const markSeenMany: Store['markSeenMany'] = (entries) => {
      writes.push(entries.length);
      return store.markSeenMany(entries);
    };
    const seen = new SeenRecorder({ markSeenMany }, 3_600_000);
    try {
      const { token } = await store.createToken({ ttlMs: 60_000, now: new Date('2026-12-01T09:00:00Z') });
      for (const host of ['h1', 'h2', 'h3']) {
        const enrolled = await store.enrollHosts([{ token, host, credentialHash: `hash-${host}`, facts: {}, labels: {}, now: new Date('2026-12-01T09:00:00Z') }]);
        expect(enrolled[0]).to.have.property('host');
      }
      seen.note('h1', Date.parse('2026-12-01T09:05:00Z'));
      seen.note('h2', Date.parse('2026-12-01T09:06:00Z'));
      seen.note('h1', Date.parse('2026-12-01T09:07:00Z'));
      expect(seen.pending()).to.equal(2);
      await seen.flush();
      seen.note('h2', Date.parse('2026-12-01T08:00:00Z')); // an older time than the stored one
      await seen.close();
      const lastSeen = await Promise.all(['h1', 'h2', 'h3'].map(async (h) => (await store.getHost(h))?.lastSeenAt));
      expect({ writes, lastSeen }).to.deep.equal({
        writes: [2, 1],
        lastSeen: ['2026-12-01T09:07:00.000Z', '2026-12-01T09:06:00.000Z', '2026-12-01T09:00:00.000Z'],
      });
    } finally {
      await store.close();
    }
  });
});

describe('plan poll cache (its bounds)', () => {
  it('past its bounds (credentials and plans kept, bytes of documents) the cache reads the store again, and answers each host its own plan', async () => {
    const hosts = ['b1', 'b2', 'b3'];
    const docOf = (host: string) => JSON.stringify({ host, actions: [] });
    const reads: string[] = [];
    const store = {
      async findHostByCredentialHash(hash: string) {
        const host = hosts.find((x) => sha256Hex(`credential-${x}`) === hash);
        reads.push(`credential ${host}`);
        return host === undefined ? undefined : { host, credentialHash: hash };
      },
      async getSignedPlan(host: string) {
        reads.push(`plan ${host}`);
        return { host, sha256: sha256Hex(docOf(host)), signed: docOf(host), serial: 1, generatedAt: new Date('2026-12-01T08:00:00Z') };
      },
      plansVersion: async () => '1',
      credentialsVersion: async () => '1',
      markSeenMany: async () => undefined,
    } as unknown as ApiStore;
    // Room for two hosts, and for one document: the second host's document is read again for each 200.
    const poller = new PlanPoller(store, createMetrics({ processMetrics: false }), new SeenRecorder(store, 3_600_000), manualClock('2026-12-01T09:00:00Z'), {
      maxEntries: 2,
      maxBodyBytes: Buffer.byteLength(docOf('b1')),
    });
    const poll = (host: string, etag?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = { method: 'GET', url: `/v1/hosts/${host}/plan`, headers: { authorization: `Bearer credential-${host}`, ...(etag !== undefined && { 'if-none-match': etag }) } };
        let status = 0;
        const res = {
          writeHead: (s: number) => (status = s),
          end: (body?: Buffer) => resolve({ status, body: body?.toString() ?? '' }),
        };
        poller.handle(req as IncomingMessage, res as unknown as ServerResponse, () => reject(new Error(`${host}: fallback`)));
      });
    const etag = (host: string) => `"${sha256Hex(docOf(host))}"`;
    try {
      const answers: (boolean | number)[] = [];
      const readsOf = async (host: string, tag?: string) => {
        reads.length = 0;
        const answer = await poll(host, tag);
        answers.push(answer.status === 200 ? answer.body === docOf(host) : answer.status);
        return [...reads];
      };
      expect({
        first: [await readsOf('b1'), await readsOf('b2')],
        // b2's document is not kept (b1's fills the bytes): its ETag is.
        again: [await readsOf('b1'), await readsOf('b2', etag('b2')), await readsOf('b2')],
        // A third host fills both maps: they start over with it.
        third: await readsOf('b3', etag('b3')),
        after: [await readsOf('b3', etag('b3')), await readsOf('b1', etag('b1'))],
        answers,
      }).to.deep.equal({
        first: [
          ['credential b1', 'plan b1'],
          ['credential b2', 'plan b2'],
        ],
        again: [[], [], ['plan b2']],
        third: ['credential b3', 'plan b3'],
        after: [[], ['credential b1', 'plan b1']],
        answers: [true, true, true, 304, true, 304, 304, 304],
      });
      // The document kept (b1's, answered from memory) holds its own bytes, no slice of a shared pool.
      const kept = (await new Promise<Buffer>((resolve) => {
        const res = { writeHead: () => undefined, end: (body: Buffer) => resolve(body) };
        const req = { method: 'GET', url: '/v1/hosts/b1/plan', headers: { authorization: 'Bearer credential-b1' } };
        poller.handle(req as IncomingMessage, res as unknown as ServerResponse, () => undefined);
      })) as Buffer;
      expect([kept.toString(), kept.byteOffset, kept.buffer.byteLength]).to.deep.equal([docOf('b1'), 0, kept.length]);
    } finally {
      poller.close();
    }
  });
});
