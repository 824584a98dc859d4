/**
 * Endless data (TUF): a source that sends more bytes than the plan's size — an endless chunked
 * body, or a Content-Length past the size — is cut off at the size: the transfer stops reading,
 * keeps nothing, and tries the next source, from which the artifact arrives verified.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { download } from '../../lib/transfer/download.js';
import { makeContent, sha256, startContentServer, type ContentServer } from '../lib/transfer/content-server.js';
import { eventually } from '../support/eventually.js';

const SIZE = 256 * 1024;
const content = makeContent(SIZE);

interface Endless {
  readonly url: string;
  /** Bytes written into the socket so far, and whether the client has closed it. */
  readonly state: { sent: number; closed: boolean };
  close(): Promise<void>;
}

/** A server that answers every GET with 200 and then writes the content's bytes, then junk, forever (or until the client goes). */
async function startEndless(mode: 'chunked' | 'content-length'): Promise<Endless> {
  const state = { sent: 0, closed: false };
  const server = http.createServer((req, res) => {
    res.writeHead(200, mode === 'chunked' ? { 'content-type': 'application/octet-stream' } : { 'content-length': String(SIZE * 1024) });
    const junk = Buffer.alloc(64 * 1024, 0x61);
    let first = true;
    const pump = (): void => {
      while (!res.destroyed) {
        const chunk = first ? content : junk;
        first = false;
        state.sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    req.socket.on('close', () => (state.closed = true));
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('fault: endless data', function () {
  this.timeout(60_000);
  let good: ContentServer;
  let dir: string;

  beforeEach(async () => {
    good = await startContentServer({ '/good': content });
    dir = mkdtempSync(join(tmpdir(), 'ferry-fault-endless-'));
  });
  afterEach(async () => {
    await good.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of ['chunked', 'content-length'] as const) {
    it(`a source sending more than the plan's size (${mode}) is cut off at the size; the next source serves the artifact`, async () => {
      const endless = await startEndless(mode);
      try {
        const dest = join(dir, 'content', 'artifact.tar.gz');
        const result = await download({
          sources: [
            { name: 'endless', url: `${endless.url}/x` },
            { name: 'controller', url: `${good.url}/good` },
          ],
          sha256: sha256(content),
          size: SIZE,
          dest,
          baseDelayMs: 1,
        });
        expect(result.ok, JSON.stringify(result)).to.equal(true);
        if (!result.ok) return;
        expect(result.source).to.equal('controller');
        expect(result.attempts.map((a) => [a.source, a.retryable])).to.deep.equal([['endless', false]]);
        expect(result.attempts[0]?.error).to.match(/more bytes than expected|source has \d+ bytes, expected/);
        // The endless source's connection is closed by the agent, not read to the end.
        await eventually(() => endless.state.closed, 'the endless connection to be closed');
        expect(existsSync(dest)).to.equal(true);
        expect(readdirSync(dirname(dest))).to.deep.equal(['artifact.tar.gz']);
      } finally {
        await endless.close();
      }
    });
  }
});
