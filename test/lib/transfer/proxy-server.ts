/**
 * A minimal real HTTP proxy for transfer tests: forwards absolute-form GETs and opens CONNECT
 * tunnels, recording every request it gets; optionally demands Proxy-Authorization.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  readonly method: string;
  /** The request target as the proxy got it: an absolute URL for GET, `host:port` for CONNECT. */
  readonly target: string;
  readonly proxyAuthorization?: string;
}

export interface ProxyServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1, an OS-chosen port; with `authorization`, other requests get 407. */
export async function startProxy(authorization?: string): Promise<ProxyServer> {
  const requests: ProxiedRequest[] = [];
  const tunnels = new Set<net.Socket>();
  const record = (req: http.IncomingMessage): boolean => {
    const auth = req.headers['proxy-authorization'];
    requests.push({ method: req.method ?? '', target: req.url ?? '', ...(auth ? { proxyAuthorization: auth } : {}) });
    return authorization === undefined || auth === authorization;
  };
  const server = http.createServer((req, res) => {
    if (!record(req)) return void res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end();
    if (req.method !== 'GET' || !/^http:\/\//.test(req.url ?? '')) return void res.writeHead(400).end('absolute-form GET only');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = http.request(req.url!, { method: 'GET', headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    upstream.end();
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.add(client);
    client.on('error', () => undefined);
    client.on('close', () => tunnels.delete(client));
    if (!record(req)) return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n');
    const [host, port] = (req.url ?? '').split(/:(?=\d+$)/) as [string, string];
    const upstream = net.connect(Number(port), host.replace(/^\[(.*)\]$/, '$1'), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    tunnels.add(upstream);
    upstream.on('close', () => tunnels.delete(upstream));
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of tunnels) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
