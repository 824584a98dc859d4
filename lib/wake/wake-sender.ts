/**
 * `WakeSender`: who puts a magic packet on the wire. The controller sends to its
 * `--wake-broadcast` address (udp-wake-sender.ts); a relay, which sits on the sleeping host's own
 * network segment, relays send them from the site (agent/relay/) through the same helpers.
 */
import type { Mac } from './mac.js';

/** Where a magic packet went. */
export interface WakeSent {
  /** Who sent it, as host history shows it: `controller`, `relay osaka`. */
  readonly by: string;
  /** `ADDR:PORT` it was sent to. */
  readonly to: string;
}

export interface WakeSender {
  /** `controller`, or `relay NAME`. */
  readonly by: string;
  /** Sends the magic packet for `mac`; resolves once the datagram has been handed to the network, rejects when it could not be. */
  send(mac: Mac): Promise<WakeSent>;
}
