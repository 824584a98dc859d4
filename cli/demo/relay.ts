/**
 * A stand-in for the Osaka relay (`ferry agent --relay` is not built yet): it serves
 * `GET /v1/content/{sha256}` by forwarding the request, with the host's credential and range,
 * to the controller, and counts what it served. Hosts behind it name it as their source
 * (`sha256 verified; from osaka` in their reports).
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RelayStandIn {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Where requests go; set once the controller listens (503 until then). */
  setUpstream(url: string): void;
  /** Content requests answered so far. */
  served(): number;
  close(): Promise<void>;
}

const passHeaders = ['authorization', 'range', 'if-none-match', 'if-range', 'accept'];

/** Starts the stand-in on 127.0.0.1 (port chosen by the OS). */
export async function startRelayStandIn(): Promise<RelayStandIn> {
  let upstream: URL | undefined;
  let served = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !/^\/v1\/content\/[0-9a-fA-F]{64}$/.test(path.split('?')[0]!)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not-found', message: 'this relay serves GET /v1/content/{sha256} only' } }));
      return;
    }
    if (!upstream) {
      res.writeHead(503, { 'retry-after': '1' }).end();
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of passHeaders) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const out = request(new URL(path, upstream), { method: req.method, headers }, (up) => {
      if ((up.statusCode ?? 500) < 300) served++;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.on('close', () => {
      if (!res.writableEnded) out.destroy();
    });
    out.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setUpstream: (url) => {
      upstream = new URL(url);
    },
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
