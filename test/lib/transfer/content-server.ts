/**
 * A real HTTP content server for agent tests: serves buffers by path with `Range`/206 support,
 * counts the body bytes it sends, and has switches to inject faults.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedRequest {
  readonly path: string;
  readonly range?: string;
  /** The Authorization header, when one was sent. */
  readonly authorization?: string;
  readonly status: number;
  readonly at: number;
}

/** A redirect the server answers for a path (no Location header when `location` is absent). */
export interface Redirect {
  readonly status: number;
  readonly location?: string;
}

export interface Faults {
  /** The next response with a body is cut (socket destroyed) after this many body bytes. */
  dropAfterBytes?: number;
  /** Statuses answered, one per request, before serving normally. */
  statuses: { status: number; retryAfter?: string }[];
  /** Serve the content with one byte flipped. */
  corrupt: boolean;
  /** Answer 200 with the whole content whatever the Range. */
  ignoreRange: boolean;
  /** Pause this long between 64 KiB chunks of a body (to make transfers slow enough to interrupt). */
  chunkDelayMs: number;
}

export interface ContentServer {
  readonly url: string;
  readonly faults: Faults;
  readonly requests: ServedRequest[];
  /** Body bytes sent so far (all requests). */
  bytesServed: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** sha256 of a buffer, lower-case hex. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes a self-signed certificate for 127.0.0.1 and its key into `dir`; returns their paths. */
export function selfSignedCertificate(dir: string): { readonly key: string; readonly cert: string } {
  const key = `${dir}/key.pem`;
  const cert = `${dir}/cert.pem`;
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=ferry-test',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

/** Answers an open-ended `Range: bytes=N-` with a 206 of `body` from N, anything else with a 200 of all of it. */
export function sendFrom(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : 0;
  res.writeHead(m ? 206 : 200, {
    'content-length': body.length - start,
    ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
  });
  res.end(body.subarray(start));
}

/** Deterministic pseudo-random content of `size` bytes. */
export function makeContent(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeInt32LE(x | 0, Math.min(i, size - 4));
  }
  return out;
}

/**
 * Starts a server on 127.0.0.1, an OS-chosen port; `files` maps URL paths to content, `redirects` paths to redirects.
 * `keepAliveMs`: how long an idle connection stays open (default 1 s; Node's http.Agent reuses none under 2 s).
 */
export async function startContentServer(files: Record<string, Buffer>, redirects: Record<string, Redirect> = {}, keepAliveMs = 1000): Promise<ContentServer> {
  const faults: Faults = { statuses: [], corrupt: false, ignoreRange: false, chunkDelayMs: 0 };
  const requests: ServedRequest[] = [];
  const state = { bytesServed: 0, connections: 0 };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const range = req.headers.range;
    const authorization = req.headers.authorization;
    const record = (status: number) => requests.push({ path, ...(range ? { range } : {}), ...(authorization ? { authorization } : {}), status, at: Date.now() });
    const redirect = redirects[path];
    if (redirect) {
      record(redirect.status);
      res.writeHead(redirect.status, redirect.location === undefined ? {} : { location: redirect.location });
      return res.end('moved');
    }
    const injected = faults.statuses.shift();
    if (injected) {
      record(injected.status);
      res.writeHead(injected.status, injected.retryAfter ? { 'retry-after': injected.retryAfter } : {});
      return res.end('injected');
    }
    const original = files[path];
    if (!original) {
      record(404);
      res.writeHead(404);
      return res.end('not found');
    }
    let data = original;
    if (faults.corrupt) {
      data = Buffer.from(original);
      data[Math.floor(data.length / 2)]! ^= 0xff;
    }
    let start = 0;
    let end = data.length - 1;
    let status = 200;
    const m = range && !faults.ignoreRange ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (m) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
      if (start >= data.length || end < start) {
        record(416);
        res.writeHead(416, { 'content-range': `bytes */${data.length}` });
        return res.end();
      }
      status = 206;
    }
    record(status);
    res.writeHead(status, {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'content-length': end - start + 1,
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${data.length}` } : {}),
    });
    const body = data.subarray(start, end + 1);
    const drop = faults.dropAfterBytes;
    faults.dropAfterBytes = undefined;
    void sendBody(res, body, drop, faults.chunkDelayMs, (n) => (state.bytesServed += n));
  });
  server.on('connection', () => state.connections++);
  server.keepAliveTimeout = keepAliveMs;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    requests,
    get connections() {
      return state.connections;
    },
    get bytesServed() {
      return state.bytesServed;
    },
    set bytesServed(n: number) {
      state.bytesServed = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function sendBody(res: http.ServerResponse, body: Buffer, dropAfter: number | undefined, delayMs: number, count: (n: number) => void): Promise<void> {
  const chunk = 64 * 1024;
  for (let offset = 0; offset < body.length; offset += chunk) {
    if (res.destroyed) return;
    let piece = body.subarray(offset, Math.min(offset + chunk, body.length));
    if (dropAfter !== undefined && offset + piece.length > dropAfter) {
      piece = piece.subarray(0, Math.max(0, dropAfter - offset));
      count(piece.length);
      // end(), not destroy(): an RST could discard bytes the client has not read yet.
      res.write(piece, () => res.socket?.end());
      return;
    }
    count(piece.length);
    const ok = res.write(piece);
    if (!ok) await new Promise((r) => res.once('drain', r));
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  }
  res.end();
}
