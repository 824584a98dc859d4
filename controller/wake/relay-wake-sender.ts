/**
 * Waking a host that has a relay (issue 13): a broadcast reaches only its own network segment, so
 * the magic packet is sent by the host's relay. The request travels on the relay's work poll
 * (controller/api/routes-relays.ts); this resolves once the relay says where it sent the packet.
 */
import type { Mac } from '../../lib/wake/mac.js';
import type { WakeSender, WakeSent } from '../../lib/wake/wake-sender.js';

/** The controller's queue of wake requests for relays (controller/api/relay-registry.ts). */
export interface RelayWakeQueue {
  wake(relay: string, host: string, mac: Mac, broadcast: string | undefined): Promise<WakeSent>;
}

export class RelayWakeSender implements WakeSender {
  readonly by: string;

  constructor(
    private readonly queue: RelayWakeQueue,
    private readonly relay: string,
    private readonly host: string,
    /** The Relay manifest's `wakeBroadcast`, if set. */
    private readonly broadcast: string | undefined,
  ) {
    this.by = `relay ${relay}`;
  }

  send(mac: Mac): Promise<WakeSent> {
    return this.queue.wake(this.relay, this.host, mac, this.broadcast);
  }
}
