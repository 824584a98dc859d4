/**
 * The downloader's building blocks: the hash worker's streams, the socket's read slabs, the raw
 * HTTP/1.1 reader (chunked bodies, HTTPS, refused headers) and the boot-scoped trust in content.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalWriteError, TransferError } from '../../../lib/transfer/errors.js';
import { PartialFile } from '../../../lib/transfer/partial-file.js';
import { download } from '../../../lib/transfer/download.js';
import { fetchContent } from '../../../lib/transfer/http-get.js';
import { ReadBuffers } from '../../../lib/transfer/read-buffers.js';
import { checkContent, markVerified } from '../../../lib/transfer/verified.js';
import { makeContent, selfSignedCertificate, sendFrom, sha256 } from './content-server.js';
import { slowSink } from './fixtures/slow-sink.js';

const fixture = new URL('./fixtures/download-child.ts', import.meta.url).pathname;

describe('lib/transfer building blocks', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-transfer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('PartialFile (hashed and written on the file worker)', () => {
    it('hashes and writes shared and ordinary chunks in order, across digests, resets and two files at once', async () => {
      const data = makeContent(3 * 1024 * 1024 + 7, 3);
      const shared = Buffer.from(new SharedArrayBuffer(data.length));
      data.copy(shared);
      const a = await PartialFile.open(join(dir, 'a.part'), data.length);
      const b = await PartialFile.open(join(dir, 'b.part'), data.length);
      const appends: Promise<unknown>[] = [];
      let at = 0;
      for (let i = 1; at < data.length; i++) {
        const n = Math.min((i * 7919) % 300_000, data.length - at);
        appends.push(a.append([shared.subarray(at, at + n)]));
        appends.push(b.append([data.subarray(at, at + n / 2), data.subarray(at + n / 2, at + n)]));
        at += n;
        if (i === 5) expect(await a.digest()).to.equal(sha256(data.subarray(0, at)));
      }
      await Promise.all(appends);
      expect([await a.digest(), await b.digest()]).to.deep.equal([sha256(data), sha256(data)]);
      expect([a.length, b.length]).to.deep.equal([data.length, data.length]);
      expect(readFileSync(join(dir, 'b.part')).equals(data)).to.equal(true);
      void a.reset();
      await a.append([Buffer.from('abc')]);
      expect(await a.digest()).to.equal(createHash('sha256').update('abc').digest('hex'));
      expect(readFileSync(join(dir, 'a.part'), 'utf8')).to.equal('abc');
      await Promise.all([a.close(), b.close()]);
    });

    it('reopens a partial file hashed as it was, drops one longer than the content, and refuses to grow past a limit', async () => {
      const data = makeContent(2_500_000, 4);
      const file = join(dir, 'c.part');
      writeFileSync(file, data.subarray(0, 2_000_000));
      const part = await PartialFile.open(file, data.length);
      expect(part.length).to.equal(2_000_000);
      await part.append([data.subarray(2_000_000)], data.length);
      expect(await part.digest()).to.equal(sha256(data));
      const over = await part.append([Buffer.from('x')], data.length).then(
        () => undefined,
        (e: TransferError) => e,
      );
      expect(over).to.be.instanceOf(TransferError);
      expect(over?.details.discardPartial).to.equal(true);
      await part.close();
      const shorter = await PartialFile.open(file, 1000);
      expect(shorter.length).to.equal(0);
      expect(statSync(file).size).to.equal(0);
      await shorter.close();
    });

    it('ends with a LocalWriteError when the disk refuses a write, and stays ended', async () => {
      const part = await PartialFile.open('/dev/full', 1 << 20);
      const err = await part.append([Buffer.alloc(4096, 1)]).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).to.be.instanceOf(LocalWriteError);
      expect(err?.message).to.match(/ENOSPC/);
      const again = await part.digest().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(again?.message).to.match(/ENOSPC/);
      await part.close(); // closing an ended file still works
    });
  });

  describe('ReadBuffers', () => {
    it('packs reads into a slab, reuses a slab once released, and asks to stop when too many are held', () => {
      const buffers = new ReadBuffers(256 * 1024, 2, 64 * 1024);
      const first = buffers.next();
      expect(first.length).to.equal(256 * 1024);
      expect(first.buffer).to.be.instanceOf(SharedArrayBuffer);
      const one = buffers.filled(100_000);
      buffers.hold(one.slab);
      expect(buffers.next().length).to.equal(256 * 1024 - 100_000);
      const two = buffers.filled(100_000);
      expect(two.slab).to.equal(one.slab);
      buffers.hold(two.slab);
      // 56 KiB left is less than a read: a second slab.
      const next = buffers.next();
      const three = buffers.filled(next.length);
      expect(three.slab).not.to.equal(one.slab);
      buffers.hold(three.slab);
      expect(buffers.full).to.equal(true);
      buffers.release(one.slab);
      expect(buffers.full).to.equal(true); // `two` still holds it
      buffers.release(two.slab);
      expect(buffers.full).to.equal(false);
      buffers.next();
      expect(buffers.filled(10).slab).to.equal(one.slab); // the released slab came back
    });
  });

  describe('the HTTP reader', () => {
    const content = makeContent(3 * 1024 * 1024 + 99, 5);
    const digest = sha256(content);

    async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
      const server = http.createServer(handler);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((r) => server.close(() => r())),
      };
    }

    it('reads a chunked body (no Content-Length) and verifies it', async () => {
      const s = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let at = 0; at < content.length; at += 100_000) res.write(content.subarray(at, at + 100_000));
        res.end();
      });
      try {
        const dest = join(dir, 'chunked');
        const r = await download({ sources: [{ name: 's', url: `${s.url}/x` }], sha256: digest, size: content.length, dest });
        expect(r).to.deep.include({ ok: true, bytesFetched: content.length });
        expect(sha256(readFileSync(dest))).to.equal(digest);
      } finally {
        await s.close();
      }
    });

    it('stops reading while the sink is behind (at most 16 slabs held) and resumes, losing nothing', async function () {
      this.timeout(30_000);
      const big = makeContent(48 * 1024 * 1024, 7);
      const s = await serve((_req, res) => {
        res.writeHead(200, { 'content-length': big.length });
        res.end(big);
      });
      try {
        const sink = slowSink();
        await fetchContent(`${s.url}/x`, { timeoutMs: 5_000, now: Date.now }, () => sink.sink);
        expect(sink.digest()).to.equal(sha256(big));
        expect(sink.most).to.be.within(16, 17); // reading stopped at 16 (one more read may land as it stops)
      } finally {
        await s.close();
      }
    });

    it('refuses a header that would break out of its line, without sending anything', async () => {
      let requests = 0;
      const s = await serve((_req, res) => {
        requests++;
        res.end();
      });
      try {
        const r = await download({
          sources: [{ name: 's', url: `${s.url}/x`, headers: { authorization: 'Bearer x\r\nX-Evil: 1' } }],
          sha256: digest,
          size: content.length,
          dest: join(dir, 'evil'),
        });
        expect(r).to.deep.include({ ok: false, reason: 'failed' });
        expect(r.attempts).to.deep.equal([{ source: 's', error: 'invalid request header "authorization"', retryable: false }]);
        expect(requests).to.equal(0);
      } finally {
        await s.close();
      }
    });

    it('downloads over HTTPS, trusting the CA the system (here NODE_EXTRA_CA_CERTS) trusts', async function () {
      this.timeout(30_000);
      const { key, cert } = selfSignedCertificate(dir);
      const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
        sendFrom(req, res, content);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
        const dest = join(dir, 'tls');
        writeFileSync(`${dest}.part`, content.subarray(0, 1_000_000));
        const options = { sources: [{ name: 's', url }], sha256: digest, size: content.length, dest };
        const run = (env: NodeJS.ProcessEnv) =>
          new Promise<Record<string, unknown>>((resolve, reject) => {
            const child = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(options)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
            let out = '';
            child.stdout.on('data', (d) => (out += d));
            child.once('error', reject);
            child.once('exit', () => resolve(JSON.parse(out) as Record<string, unknown>));
          });
        const untrusted = await run({ ...process.env, NODE_EXTRA_CA_CERTS: '' });
        expect(untrusted).to.include({ ok: false, reason: 'failed' });
        expect(JSON.stringify(untrusted['attempts'])).to.match(/self[- ]signed/i);
        const trusted = await run({ ...process.env, NODE_EXTRA_CA_CERTS: cert });
        expect(trusted).to.include({ ok: true, bytesFetched: content.length - 1_000_000 });
        expect(sha256(readFileSync(dest))).to.equal(digest);
      } finally {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    });
  });

  describe('content trust across restarts', () => {
    const data = makeContent(300_000, 6);
    const digest = sha256(data);

    it('trusts a file verified in this boot, hashes one from another boot again, and removes a damaged one', async () => {
      const file = join(dir, 'a.tar.gz');
      expect(await checkContent(file, digest, data.length)).to.equal('missing');
      writeFileSync(file, data);
      await markVerified(file);
      expect(await checkContent(file, digest, data.length)).to.equal('trusted');
      const record = JSON.parse(readFileSync(`${file}.verified`, 'utf8')) as { boot: string };
      writeFileSync(`${file}.verified`, JSON.stringify({ ...record, boot: 'another-boot' }));
      expect(await checkContent(file, digest, data.length)).to.equal('reverified');
      expect(await checkContent(file, digest, data.length)).to.equal('trusted');
      rmSync(`${file}.verified`);
      const damaged = Buffer.from(data);
      damaged[10]! ^= 1;
      writeFileSync(file, damaged);
      expect(await checkContent(file, digest, data.length)).to.equal('corrupt');
      expect(await checkContent(file, digest, data.length)).to.equal('missing');
    });
  });
});
