import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { manualClock } from '../../../lib/clock.js';
import { download } from '../../../lib/transfer/download.js';
import type { DownloadOptions } from '../../../lib/transfer/types.js';
import { makeContent, sha256, startContentServer, type ContentServer } from './content-server.js';

const fixture = new URL('./fixtures/download-child.ts', import.meta.url).pathname;
const SIZE = 4 * 1024 * 1024 + 12345;
const content = makeContent(SIZE);
const corrupted = Buffer.from(content);
corrupted[1000]! ^= 1;
const digest = sha256(content);

/** A clock that records the waits asked of it and returns at once. */
const instantClock = () => manualClock('2026-12-04T00:00:00Z');

describe('lib/transfer download', () => {
  let server: ContentServer;
  let dir: string;
  let dest: string;
  const base = (over: Partial<DownloadOptions> = {}): DownloadOptions => ({
    sources: [{ name: 'controller', url: `${server.url}/good` }],
    sha256: digest,
    size: SIZE,
    dest,
    clock: instantClock(),
    ...over,
  });

  beforeEach(async () => {
    server = await startContentServer({ '/good': content, '/bad': corrupted });
    dir = mkdtempSync(join(tmpdir(), 'ferry-dl-'));
    dest = join(dir, 'pkg', 'artifact.tar.gz');
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('downloads, verifies and renames; no partial file is left', async () => {
    const progress: number[] = [];
    const result = await download(base({ onProgress: (done) => progress.push(done) }));
    expect(result).to.deep.equal({ ok: true, path: dest, bytesFetched: SIZE, source: 'controller', attempts: [] });
    expect(sha256(readFileSync(dest))).to.equal(digest);
    expect(existsSync(`${dest}.part`)).to.equal(false);
    expect(progress.at(-1)).to.equal(SIZE);
    expect(server.requests.map((r) => r.range)).to.deep.equal([undefined]);
  });

  it('resumes after a dropped connection from the exact byte, fetching only the rest', async () => {
    server.faults.dropAfterBytes = 1_000_000;
    const result = await download(base());
    expect(result.ok).to.equal(true);
    expect(server.bytesServed).to.equal(SIZE);
    expect(server.requests.map((r) => r.range)).to.deep.equal([undefined, 'bytes=1000000-']);
    expect(sha256(readFileSync(dest))).to.equal(digest);
    if (!result.ok) return;
    expect(result.attempts).to.have.length(1);
    expect(result.attempts[0]).to.include({ source: 'controller', retryable: true });
  });

  it('resumes from a partial file left by an earlier run', async () => {
    mkdirFor(dest);
    writeFileSync(`${dest}.part`, content.subarray(0, 3_000_000));
    const result = await download(base());
    expect(result).to.deep.include({ ok: true, bytesFetched: SIZE - 3_000_000 });
    expect(server.bytesServed).to.equal(SIZE - 3_000_000);
    expect(server.requests.map((r) => r.range)).to.deep.equal(['bytes=3000000-']);
    expect(sha256(readFileSync(dest))).to.equal(digest);
  });

  it('restarts cleanly from 0 when the server ignores Range and answers 200', async () => {
    mkdirFor(dest);
    writeFileSync(`${dest}.part`, content.subarray(0, 1_000_000));
    server.faults.ignoreRange = true;
    const result = await download(base());
    expect(result).to.deep.include({ ok: true, bytesFetched: SIZE });
    expect(server.requests.map((r) => [r.range, r.status])).to.deep.equal([['bytes=1000000-', 200]]);
    expect(sha256(readFileSync(dest))).to.equal(digest);
  });

  it('fetches in segments with the pause between them', async () => {
    const segment = 512 * 1024;
    const pause = 60;
    const result = await download(base({ segmentSize: segment, segmentPauseMs: pause, clock: undefined }));
    expect(result.ok).to.equal(true);
    const count = Math.ceil(SIZE / segment);
    const expectedRanges = Array.from({ length: count }, (_, i) => `bytes=${i * segment}-${Math.min((i + 1) * segment, SIZE) - 1}`);
    expect(server.requests.map((r) => r.range)).to.deep.equal(expectedRanges);
    for (let i = 1; i < count; i++) {
      expect(server.requests[i]!.at - server.requests[i - 1]!.at).to.be.at.least(pause - 1);
    }
    expect(server.bytesServed).to.equal(SIZE);
  });

  it('suspends at a segment boundary and a later call resumes from that byte', async () => {
    const segment = 1024 * 1024;
    const first = await download(base({ segmentSize: segment, shouldPause: () => server.requests.length >= 2 }));
    expect(first).to.deep.equal({
      ok: false,
      reason: 'suspended',
      message: `suspended at byte ${2 * segment} of ${SIZE}`,
      bytesDone: 2 * segment,
      bytesFetched: 2 * segment,
      attempts: [],
    });
    expect(statSync(`${dest}.part`).size).to.equal(2 * segment);
    expect(existsSync(dest)).to.equal(false);
    const second = await download(base({ segmentSize: segment }));
    expect(second).to.deep.include({ ok: true, bytesFetched: SIZE - 2 * segment });
    expect(server.requests[2]!.range).to.equal(`bytes=${2 * segment}-${3 * segment - 1}`);
    expect(server.bytesServed).to.equal(SIZE);
    expect(sha256(readFileSync(dest))).to.equal(digest);
  });

  it('discards content that fails sha256 and uses the next source from byte 0', async () => {
    const result = await download(
      base({
        sources: [
          { name: 'relay', url: `${server.url}/bad` },
          { name: 'controller', url: `${server.url}/good` },
        ],
      }),
    );
    expect(result).to.deep.equal({
      ok: true,
      path: dest,
      bytesFetched: 2 * SIZE,
      source: 'controller',
      attempts: [{ source: 'relay', error: `sha256 mismatch: expected ${digest} got ${sha256(corrupted)}`, retryable: false }],
    });
    expect(server.requests.map((r) => [r.path, r.range])).to.deep.equal([
      ['/bad', undefined],
      ['/good', undefined],
    ]);
    expect(sha256(readFileSync(dest))).to.equal(digest);
  });

  it('fails with every attempt listed when the only source serves bad bytes, leaving nothing', async () => {
    const result = await download(base({ sources: [{ name: 'relay', url: `${server.url}/bad` }] }));
    expect(result).to.deep.include({ ok: false, reason: 'failed', bytesDone: 0 });
    expect(existsSync(dest)).to.equal(false);
    expect(existsSync(`${dest}.part`)).to.equal(false);
  });

  const retried = [
    { status: 503, retryAfter: undefined },
    { status: 500, retryAfter: undefined },
    { status: 408, retryAfter: undefined },
    { status: 429, retryAfter: '7' },
  ];
  for (const c of retried) {
    it(`retries after HTTP ${c.status}${c.retryAfter ? ' honouring Retry-After' : ''}`, async () => {
      server.faults.statuses.push({ status: c.status, ...(c.retryAfter ? { retryAfter: c.retryAfter } : {}) });
      const clock = instantClock();
      const result = await download(base({ clock, random: () => 0.5 }));
      expect(result).to.deep.include({ ok: true, bytesFetched: SIZE });
      if (!result.ok) return;
      expect(result.attempts).to.have.length(1);
      expect(result.attempts[0]).to.include({ status: c.status, retryable: true });
      expect(clock.sleeps).to.deep.equal([c.retryAfter ? 7000 : 500]);
    });
  }

  it('gives up a source after a bounded number of retries, with growing jittered delays', async () => {
    for (let i = 0; i < 10; i++) server.faults.statuses.push({ status: 503 });
    const clock = instantClock();
    const result = await download(base({ clock, maxRetries: 3, random: () => 0.5, baseDelayMs: 100 }));
    expect(result).to.deep.include({ ok: false, reason: 'failed', bytesDone: 0 });
    expect(server.requests).to.have.length(4);
    expect(clock.sleeps).to.deep.equal([100, 200, 400]);
  });

  it('does not retry a 404 and moves on to the next source', async () => {
    const clock = instantClock();
    const result = await download(
      base({
        clock,
        sources: [
          { name: 'relay', url: `${server.url}/missing` },
          { name: 'controller', url: `${server.url}/good` },
        ],
      }),
    );
    expect(result).to.deep.include({ ok: true, source: 'controller' });
    if (!result.ok) return;
    expect(result.attempts).to.deep.equal([{ source: 'relay', error: 'HTTP 404 Not Found', status: 404, retryable: false }]);
    expect(server.requests.map((r) => r.path)).to.deep.equal(['/missing', '/good']);
    expect(clock.sleeps).to.deep.equal([]);
  });

  it('retries network errors (connection refused), then fails', async () => {
    const clock = instantClock();
    const result = await download(base({ clock, maxRetries: 2, sources: [{ name: 'down', url: 'http://127.0.0.1:1/x' }] }));
    expect(result).to.deep.include({ ok: false, reason: 'failed' });
    if (result.ok) return;
    expect(result.attempts).to.have.length(3);
    expect(result.attempts[0]!.error).to.match(/^network error: ECONNREFUSED/);
  });

  it('stops at once when aborted, keeping the partial file', async () => {
    server.faults.chunkDelayMs = 20;
    const controller = new AbortController();
    const result = download(base({ signal: controller.signal, onProgress: (done) => done > 500_000 && controller.abort() }));
    const r = await result;
    expect(r).to.deep.include({ ok: false, reason: 'aborted' });
    if (r.ok) return;
    expect(r.bytesDone).to.be.greaterThan(500_000);
    expect(statSync(`${dest}.part`).size).to.equal(r.bytesDone);
  });

  it('survives kill -9 mid-download: the rerun resumes from the partial file', async function () {
    this.timeout(30_000);
    server.faults.chunkDelayMs = 5;
    const options = { ...base({ segmentSize: 256 * 1024, segmentPauseMs: 20 }), clock: undefined };
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(options)], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const part = `${dest}.part`;
    const deadline = Date.now() + 20_000;
    while (!(existsSync(part) && statSync(part).size > 1024 * 1024)) {
      if (Date.now() > deadline) throw new Error('the child never got going');
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await exited;
    const kept = statSync(part).size;
    expect(kept)
      .to.be.greaterThan(1024 * 1024)
      .and.lessThan(SIZE);
    const before = server.requests.length;
    server.faults.chunkDelayMs = 0;
    const result = await download(base({ segmentSize: 256 * 1024 }));
    expect(result).to.deep.include({ ok: true, bytesFetched: SIZE - kept });
    expect(server.requests[before]!.range).to.match(new RegExp(`^bytes=${kept}-`));
    expect(server.bytesServed).to.be.lessThan(2 * SIZE);
    expect(sha256(readFileSync(dest))).to.equal(digest);
  });
});

function mkdirFor(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
}
