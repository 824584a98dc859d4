/**
 * A TCP proxy on loopback that the test controls: it forwards every connection to `target` and,
 * when armed, breaks the first response that passes a byte count — it drops the connection
 * there (the client sees the body end early) or stalls it (holds it open, forwarding nothing more, until closed).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ResponseFault {
  readonly kind: 'drop' | 'stall';
  /** Response bytes (server to client) forwarded before the fault. */
  readonly afterBytes: number;
}

export interface TcpProxy {
  readonly url: string;
  /** Faults still to fire, in order; each breaks one connection, then is gone. */
  readonly faults: ResponseFault[];
  /** The faults that fired, with the bytes forwarded on their connection. */
  readonly fired: (ResponseFault & { readonly forwarded: number })[];
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const faults: ResponseFault[] = [];
  const fired: (ResponseFault & { forwarded: number })[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    for (const s of [client, upstream]) s.on('close', () => sockets.delete(s)).on('error', () => undefined);
    let forwarded = 0;
    let stalled = false;
    client.on('data', (d) => {
      if (!stalled) upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (stalled) return;
      const fault = faults[0];
      if (fault && forwarded + d.length > fault.afterBytes) {
        faults.shift();
        const head = d.subarray(0, fault.afterBytes - forwarded);
        forwarded += head.length;
        fired.push({ ...fault, forwarded });
        if (fault.kind === 'drop') {
          stalled = true; // nothing more passes
          client.end(head, () => client.destroy());
          upstream.destroy();
        } else {
          stalled = true;
          client.write(head);
        }
        return;
      }
      forwarded += d.length;
      client.write(d);
    });
    client.on('end', () => {
      if (!stalled) upstream.end();
    });
    upstream.on('end', () => {
      if (!stalled) client.end();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!stalled) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    faults,
    fired,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
