/** A UDP listener on 127.0.0.1, port chosen by the OS, that hands over every datagram it receives. */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface UdpListener {
  readonly port: number;
  /** Datagrams received so far, in order. */
  readonly received: Buffer[];
  /** Resolves once `count` datagrams have arrived. */
  next(count?: number): Promise<Buffer[]>;
  close(): Promise<void>;
}

export async function listenUdp(): Promise<UdpListener> {
  const socket: Socket = createSocket('udp4');
  const received: Buffer[] = [];
  const waiters: { count: number; done: (b: Buffer[]) => void }[] = [];
  socket.on('message', (msg) => {
    received.push(Buffer.from(msg));
    for (const w of [...waiters]) {
      if (received.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done(received.slice(0, w.count));
      }
    }
  });
  await new Promise<void>((ok) => socket.bind(0, '127.0.0.1', ok));
  return {
    port: (socket.address() as AddressInfo).port,
    received,
    next(count = received.length + 1) {
      if (received.length >= count) return Promise.resolve(received.slice(0, count));
      return new Promise((done) => waiters.push({ count, done }));
    },
    close: () => new Promise<void>((ok) => socket.close(() => ok())),
  };
}
