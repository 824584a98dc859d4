/**
 * The content endpoint as real clients use it (curl, as an independent implementation):
 * If-Match, 416 without long-lived cache headers, Last-Modified and If-Range with a date.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './harness.js';

interface Curl {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Runs curl against the API and parses the last response's status and headers (`-D`). */
function curl(args: readonly string[], out: string): Promise<Curl> {
  const headerFile = `${out}.headers`;
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-D', headerFile, '-o', out, ...args], async (err) => {
      if (err) return reject(err);
      const blocks = (await readFile(headerFile, 'utf8')).trim().split(/\r?\n\r?\n/);
      const lines = blocks.at(-1)!.split(/\r?\n/);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(lines[0]!.split(' ')[1]), headers, body: await readFile(out).catch(() => Buffer.alloc(0)) });
    });
  });
}

describe('content HTTP semantics, checked with curl', () => {
  let h: Harness;
  let work: string;
  let auth: string[];
  let url: string;
  const blob = randomBytes(50_000);
  const digest = createHash('sha256').update(blob).digest('hex');
  before(async () => {
    h = await startHarness();
    work = await mkdtemp(join(tmpdir(), 'ferry-curl-'));
    auth = ['-H', `Authorization: Bearer ${await h.enroll('curl1')}`];
    expect((await h.request('PUT', `/v1/content/${digest}`, { body: blob })).status).to.equal(201);
    url = `${h.url}/v1/content/${digest}`;
  });
  after(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });

  it('answers 412 to an If-Match that names another entity tag, and serves one that names it', async () => {
    const refused = await curl([...auth, '-H', `If-Match: "${'0'.repeat(64)}"`, url], join(work, 'a'));
    expect({ status: refused.status, cache: refused.headers['cache-control'] }).to.deep.equal({ status: 412, cache: 'no-store' });
    const served = await curl([...auth, '-H', `If-Match: "x", "${digest}"`, url], join(work, 'b'));
    expect({ status: served.status, same: served.body.equals(blob) }).to.deep.equal({ status: 200, same: true });
    expect((await curl([...auth, '-H', 'If-Match: *', url], join(work, 'c'))).status).to.equal(200);
  });

  it('a 416 does not carry immutable cache headers', async () => {
    const r = await curl([...auth, '-r', '60000-70000', url], join(work, 'd'));
    expect(r.status).to.equal(416);
    expect(r.headers['content-range']).to.equal(`bytes */${blob.length}`);
    expect(r.headers['cache-control']).to.equal('no-store');
  });

  it('sends Last-Modified; If-Range with that date gets the range, an older date the whole file', async () => {
    const full = await curl([...auth, url], join(work, 'e'));
    const lastModified = full.headers['last-modified']!;
    expect(Date.parse(lastModified)).to.be.a('number').and.not.NaN;
    const ranged = await curl([...auth, '-r', '100-199', '-H', `If-Range: ${lastModified}`, url], join(work, 'f'));
    expect({ status: ranged.status, same: ranged.body.equals(blob.subarray(100, 200)) }).to.deep.equal({ status: 206, same: true });
    const older = new Date(Date.parse(lastModified) - 86_400_000).toUTCString();
    const whole = await curl([...auth, '-r', '100-199', '-H', `If-Range: ${older}`, url], join(work, 'g'));
    expect({ status: whole.status, length: whole.body.length }).to.deep.equal({ status: 200, length: blob.length });
  });

  it('curl -C - resumes a partial file, and curl -z (If-Modified-Since) gets a 304', async () => {
    const partial = join(work, 'resume');
    await writeFile(partial, blob.subarray(0, 20_000));
    const resumed = await curl([...auth, '-C', '-', url], partial);
    expect(resumed.status).to.equal(206);
    const after = await readFile(partial);
    expect(after.equals(blob)).to.equal(true);
    const fresh = await curl([...auth, '-z', new Date(Date.now() + 60_000).toUTCString(), url], join(work, 'z'));
    expect(fresh.status).to.equal(304);
  });

  it('several ranges answer 200 with the whole file (documented)', async () => {
    const r = await curl([...auth, '-r', '0-9,20-29', url], join(work, 'm'));
    expect({ status: r.status, length: r.body.length }).to.deep.equal({ status: 200, length: blob.length });
  });
});
