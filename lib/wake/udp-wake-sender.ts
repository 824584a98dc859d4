/** The controller's WakeSender: one UDP datagram per wake, with broadcast allowed, to `--wake-broadcast`. */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { formatBroadcastAddress, type BroadcastAddress } from './broadcast-address.js';
import { magicPacket } from './magic-packet.js';
import type { Mac } from './mac.js';
import type { WakeSender, WakeSent } from './wake-sender.js';

export class UdpWakeSender implements WakeSender {
  constructor(
    private readonly target: BroadcastAddress,
    readonly by = 'controller',
  ) {}

  send(mac: Mac): Promise<WakeSent> {
    const to = formatBroadcastAddress(this.target);
    const v6 = isIP(this.target.address) === 6;
    const socket = createSocket(v6 ? 'udp6' : 'udp4');
    return new Promise<WakeSent>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        try {
          if (!v6) socket.setBroadcast(true);
        } catch (err) {
          reject(err);
          return;
        }
        socket.send(magicPacket(mac), this.target.port, this.target.address, (err) => (err ? reject(err) : resolve({ by: this.by, to })));
      });
    }).finally(() => socket.close());
  }
}
