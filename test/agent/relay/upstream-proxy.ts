/**
 * A test proxy between a relay and its controller, on a port the OS picks: it counts the content
 * body bytes upstream sends, can hold a content body after N bytes until released, can corrupt
 * content bodies, and can play "unreachable" (every connection is reset).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestController } from '../runtime/fixture.js';

export interface ContentCall {
  readonly method: string;
  readonly status: number;
  readonly range?: string;
  /** Body bytes that went through. */
  bytes: number;
}

export interface UpstreamProxy {
  readonly url: string;
  /** Every content request that reached upstream, in order. */
  readonly content: ContentCall[];
  /** Agent API requests (non-content) that reached upstream: `METHOD PATH STATUS`. */
  readonly api: string[];
  /** The same requests with the Authorization header they carried. */
  readonly auth: { readonly line: string; readonly authorization: string | undefined }[];
  /** Holds every content body after `bytes` until `release()`. */
  hold(bytes: number): void;
  release(): void;
  /** Resolves once a held body reached its hold point. */
  held(): Promise<void>;
  /** Flips one byte in the middle of every content body from now on. */
  corrupt(on: boolean): void;
  /** Resets every connection while down. */
  down(on: boolean): void;
  close(): Promise<void>;
}

export async function startUpstreamProxy(target: string): Promise<UpstreamProxy> {
  const content: ContentCall[] = [];
  const api: string[] = [];
  const auth: { line: string; authorization: string | undefined }[] = [];
  let holdAt: number | undefined;
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  let reachedHold: () => void = () => undefined;
  let heldPromise = new Promise<void>((r) => (reachedHold = r));
  let corrupt = false;
  let isDown = false;
  const server = http.createServer((req, res) => {
    if (isDown) {
      req.socket.destroy();
      return;
    }
    const isContent = req.url?.startsWith('/v1/content/') ?? false;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = { ...req.headers };
      delete headers.host;
      const out = http.request(new URL(req.url!, target), { method: req.method, headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (!isContent) {
          api.push(`${req.method} ${req.url} ${up.statusCode}`);
          auth.push({ line: `${req.method} ${req.url} ${up.statusCode}`, authorization: req.headers.authorization });
          up.pipe(res);
          return;
        }
        const call: ContentCall = { method: req.method!, status: up.statusCode ?? 0, ...(req.headers.range ? { range: req.headers.range } : {}), bytes: 0 };
        content.push(call);
        const total = Number(up.headers['content-length'] ?? 0);
        const flipAt = Math.floor(total / 2);
        void (async () => {
          try {
            for await (const c of up) {
              let chunk = c as Buffer;
              if (corrupt && call.bytes <= flipAt && flipAt < call.bytes + chunk.length) {
                chunk = Buffer.from(chunk);
                chunk[flipAt - call.bytes] = chunk[flipAt - call.bytes]! ^ 0xff;
              }
              if (holdAt !== undefined && call.bytes + chunk.length > holdAt) {
                const before = holdAt - call.bytes;
                if (before > 0) {
                  res.write(chunk.subarray(0, before));
                  call.bytes += before;
                  chunk = chunk.subarray(before);
                }
                reachedHold();
                await gate;
              }
              call.bytes += chunk.length;
              if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
            }
            res.end();
          } catch {
            res.destroy();
          }
        })();
      });
      out.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    content,
    api,
    auth,
    hold(bytes) {
      holdAt = bytes;
      gate = new Promise((r) => (open = r));
      heldPromise = new Promise<void>((r) => (reachedHold = r));
    },
    release() {
      holdAt = undefined;
      open();
    },
    held: () => heldPromise,
    corrupt(on) {
      corrupt = on;
    },
    down(on) {
      isDown = on;
      if (on) server.closeAllConnections();
    },
    async close() {
      open();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Enrolls `host` on the controller (through `via`) and returns its Authorization header. */
export async function enroll(ctl: TestController, via: string, host: string): Promise<string> {
  const res = await fetch(`${via}/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: await ctl.token(), host, facts: {}, labels: {} }),
  });
  if (res.status !== 201) throw new Error(`enroll ${host}: ${res.status} ${await res.text()}`);
  return `Bearer ${((await res.json()) as { credential: string }).credential}`;
}
