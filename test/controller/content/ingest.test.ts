import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContentIngester, DirectoryContentStore, type Availability, type RepoFile } from '../../../controller/content/index.js';
import type { PackageResource } from '../../../core/manifest/types.js';
import { manualClock, type ManualClock } from '../../../lib/clock.js';

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const short = (s: string) => `${s.slice(0, 12)}…`;

function pkg(name: string, body: string, source?: string, overrides: { sha256?: string; size?: number } = {}): PackageResource {
  return {
    apiVersion: 'ferry/v1',
    kind: 'Package',
    metadata: { name, labels: {}, annotations: {} },
    spec: {
      version: '1.0.0',
      artifact: { sha256: overrides.sha256 ?? sha(body), size: overrides.size ?? Buffer.byteLength(body), ...(source !== undefined ? { source } : {}) },
      install: { command: ['sh', 'install.sh'], timeoutMs: 60_000, env: {} },
      requires: [],
      conditions: [],
    },
    source: { file: 'packages.yaml', line: 1, col: 1 },
  } as unknown as PackageResource;
}

describe('controller/content ContentIngester', () => {
  let dir: string;
  let content: DirectoryContentStore;
  let ingester: ContentIngester;
  let server: Server;
  let base: string;
  let hits: Record<string, number>;
  let repo: Record<string, string>;
  let reads: string[];
  let clock: ManualClock;
  const served: Record<string, { status: number; body: string; location?: string }> = {
    '/good.tar.gz': { status: 200, body: 'from the web\n' },
    '/moved.tar.gz': { status: 302, body: 'moved', location: '/mirror/moved.tar.gz' },
    '/mirror/moved.tar.gz': { status: 200, body: 'moved to a mirror\n' },
    '/loop.tar.gz': { status: 301, body: 'moved', location: 'loop.tar.gz' },
    '/wrong.tar.gz': { status: 200, body: 'not what the manifest says' },
    '/gone.tar.gz': { status: 404, body: 'no such file' },
  };

  const readRepoFile = async (path: string): Promise<RepoFile> => {
    reads.push(path);
    const body = repo[path];
    if (body === undefined) return undefined;
    return path.endsWith('.stream') ? Readable.from([Buffer.from(body)]) : Buffer.from(body);
  };

  before(async () => {
    server = createServer((req, res) => {
      hits[req.url!] = (hits[req.url!] ?? 0) + 1;
      if (req.url === '/slow.tar.gz') {
        // Headers at once, the body half a second later: a download that outlives one ingest.
        res.writeHead(200, { 'content-length': Buffer.byteLength('a large vendor installer\n') });
        return void setTimeout(() => res.end('a large vendor installer\n'), 500);
      }
      const s = served[req.url!];
      if (!s) return void res.writeHead(500).end();
      res.writeHead(s.status, { 'content-length': Buffer.byteLength(s.body), ...(s.location ? { location: s.location } : {}) }).end(s.body);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => new Promise<void>((ok) => server.close(() => ok())));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-ingest-'));
    content = new DirectoryContentStore(join(dir, 'content'));
    hits = {};
    reads = [];
    clock = manualClock(1_000_000);
    repo = { 'artifacts/a.tar.gz': 'artifact a\n', 'artifacts/b.stream': 'artifact b, streamed\n', 'artifacts/bad.tar.gz': 'tampered\n' };
    ingester = new ContentIngester({
      content,
      tempDir: join(dir, 'ingest'),
      concurrency: 2,
      download: { maxRetries: 0, baseDelayMs: 1, timeoutMs: 2000, env: {} },
      clock,
    });
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('stores repository files and URLs, and says why each missing or wrong artifact is unavailable', async () => {
    await content.put([Buffer.from('pushed earlier\n')], sha('pushed earlier\n'));
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((ok) => closed.close(() => ok()));

    const claimed = sha('what the manifest author built');
    const packages = [
      pkg('pushed', 'pushed earlier\n'),
      pkg('pushed-wrong-size', 'pushed earlier\n', undefined, { size: 99 }),
      pkg('never-pushed', 'nobody pushed this\n'),
      pkg('from-repo', 'artifact a\n', 'artifacts/a.tar.gz'),
      pkg('from-repo-stream', 'artifact b, streamed\n', './artifacts//b.stream'),
      pkg('tampered', 'what the manifest author built', 'artifacts/bad.tar.gz'),
      pkg('short', 'artifact a\n', 'artifacts/a.tar.gz', { sha256: sha('x'), size: 5 }),
      pkg('missing', 'never committed\n', 'artifacts/missing.tar.gz'),
      pkg('escape', 'escape\n', '../outside.tar.gz'),
      pkg('absolute', 'absolute\n', '/etc/passwd'),
      pkg('web', 'from the web\n', `${base}/good.tar.gz`),
      pkg('web-wrong', 'what the web should serve', `${base}/wrong.tar.gz`, { size: Buffer.byteLength('not what the manifest says') }),
      pkg('web-gone', 'gone\n', `${base}/gone.tar.gz`),
      pkg('web-redirected', 'moved to a mirror\n', `${base}/moved.tar.gz`),
      pkg('web-loop', 'loop\n', `${base}/loop.tar.gz`),
      pkg('web-down', 'down\n', `http://127.0.0.1:${closedPort}/x.tar.gz`),
    ];
    const result = await ingester.ingest(packages, readRepoFile, 'main@sha1:1');
    const byName = Object.fromEntries(packages.map((p) => [p.metadata.name, result.get(p.spec.artifact.sha256)]));
    const downReason = (byName['web-down'] as { reason: string }).reason;
    expect(downReason).to.match(new RegExp(`^http://127.0.0.1:${closedPort}/x.tar.gz: network error: ECONNREFUSED`));
    expect(byName).to.deep.equal({
      pushed: { available: true },
      // One sha256, two packages: the first one named decides (and its size is right).
      'pushed-wrong-size': { available: true },
      'never-pushed': { available: false, reason: 'not in the content store; push it with `ferry package push FILE`' },
      'from-repo': { available: true },
      'from-repo-stream': { available: true },
      tampered: { available: false, reason: `artifacts/bad.tar.gz has sha256 ${short(sha('tampered\n'))} but the manifest says ${short(claimed)}` },
      short: { available: false, reason: 'artifacts/a.tar.gz has more than 5 bytes, but the manifest says size 5' },
      missing: { available: false, reason: 'artifacts/missing.tar.gz is not in the manifest repository at this revision' },
      escape: { available: false, reason: '../outside.tar.gz: the source must stay inside the manifest repository (no `..`)' },
      absolute: { available: false, reason: '/etc/passwd: the source must be a path inside the manifest repository, not an absolute path' },
      web: { available: true },
      'web-wrong': {
        available: false,
        reason: `${base}/wrong.tar.gz: has sha256 ${short(sha('not what the manifest says'))} but the manifest says ${short(sha('what the web should serve'))}`,
      },
      'web-gone': { available: false, reason: `${base}/gone.tar.gz: HTTP 404 Not Found` },
      'web-redirected': { available: true },
      'web-loop': { available: false, reason: `${base}/loop.tar.gz: redirect loop: ${base}/loop.tar.gz -> ${base}/loop.tar.gz` },
      'web-down': { available: false, reason: downReason },
    });
    expect(reads.sort()).to.deep.equal(['artifacts/a.tar.gz', 'artifacts/a.tar.gz', 'artifacts/b.stream', 'artifacts/bad.tar.gz', 'artifacts/missing.tar.gz']);
    for (const name of ['from-repo', 'from-repo-stream', 'web', 'web-redirected']) {
      const p = packages.find((x) => x.metadata.name === name)!;
      expect(await content.stat(p.spec.artifact.sha256), name).to.deep.include({ sha256: p.spec.artifact.sha256, size: p.spec.artifact.size });
    }
    expect(await content.has(claimed)).to.equal(false);
    // Nothing half-written is left behind.
    expect(await readdir(join(dir, 'ingest'))).to.deep.equal([]);
  });

  it('does not wait for a slow URL: it is "being fetched" until stored, and the caller hears when it ends', async () => {
    const slow = new ContentIngester({ content, tempDir: join(dir, 'ingest'), fetchWaitMs: 50, clock });
    const p = pkg('vendor', 'a large vendor installer\n', `${base}/slow.tar.gz`);
    const later: string[] = [];
    const t0 = Date.now();
    const first = await slow.ingest([p], readRepoFile, 'r1', (s) => later.push(s));
    expect(Date.now() - t0).to.be.lessThan(400);
    expect(first.get(p.spec.artifact.sha256)).to.deep.equal({
      available: false,
      reason: `${base}/slow.tar.gz: being fetched (since ${new Date(clock.now()).toISOString()}); installs of it wait until it is stored`,
    });
    // Another ingest meanwhile joins the same download.
    expect((await slow.ingest([p], readRepoFile, 'r2', (s) => later.push(s))).get(p.spec.artifact.sha256)?.available).to.equal(false);
    for (let i = 0; i < 100 && later.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(later).to.deep.equal([p.spec.artifact.sha256]);
    expect(hits['/slow.tar.gz']).to.equal(1);
    expect((await slow.ingest([p], readRepoFile, 'r2')).get(p.spec.artifact.sha256)).to.deep.equal({ available: true });
    expect(await content.has(p.spec.artifact.sha256)).to.equal(true);
  });

  it('a stored size that disagrees with the manifest is unavailable', async () => {
    await content.put([Buffer.from('pushed earlier\n')], sha('pushed earlier\n'));
    const result = await ingester.ingest([pkg('p', 'pushed earlier\n', undefined, { size: 99 })], readRepoFile, 'r1');
    expect([...result.values()]).to.deep.equal([
      { available: false, reason: `the content store holds ${short(sha('pushed earlier\n'))} with 15 bytes, but the manifest says size 99` },
    ]);
  });

  it('does not fetch again what it stored, nor a failed URL until the retry time has passed', async () => {
    const packages = [pkg('web', 'from the web\n', `${base}/good.tar.gz`), pkg('gone', 'gone\n', `${base}/gone.tar.gz`), pkg('bad', 'tampered?', 'artifacts/bad.tar.gz')];
    const first = await ingester.ingest(packages, readRepoFile, 'r1');
    const second = await ingester.ingest(packages, readRepoFile, 'r1');
    expect([...second]).to.deep.equal([...first]);
    expect(hits).to.deep.equal({ '/good.tar.gz': 1, '/gone.tar.gz': 1 });
    expect(reads).to.deep.equal(['artifacts/bad.tar.gz']);

    // Another revision reads repository files again (the file may have been fixed); URLs wait.
    repo['artifacts/bad.tar.gz'] = 'tampered?';
    const third = await ingester.ingest(packages, readRepoFile, 'r2');
    expect(third.get(sha('tampered?'))).to.deep.equal({ available: true });
    expect(hits).to.deep.equal({ '/good.tar.gz': 1, '/gone.tar.gz': 1 });

    clock.advance(5 * 60_000);
    await ingester.ingest(packages, readRepoFile, 'r2');
    expect(hits).to.deep.equal({ '/good.tar.gz': 1, '/gone.tar.gz': 2 });
    ingester.forget(sha('gone\n'));
    await ingester.ingest(packages, readRepoFile, 'r2');
    expect(hits).to.deep.equal({ '/good.tar.gz': 1, '/gone.tar.gz': 3 });
  });

  it('reads at most `concurrency` artifacts at once', async () => {
    let running = 0;
    let most = 0;
    const bodies = Array.from({ length: 8 }, (_, i) => `artifact ${i}\n`);
    const slow = async (path: string): Promise<RepoFile> => {
      running++;
      most = Math.max(most, running);
      await new Promise((ok) => setTimeout(ok, 10));
      running--;
      return Buffer.from(bodies[Number(path.slice(2))]!);
    };
    const result = await ingester.ingest(
      bodies.map((b, i) => pkg(`p${i}`, b, `a/${i}`)),
      slow,
      'r1',
    );
    expect([...result.values()].every((a: Availability) => a.available)).to.equal(true);
    expect(result.size).to.equal(8);
    expect(most).to.equal(2);
  });
});
