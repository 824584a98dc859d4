/**
 * Waking hosts now: find each host's MAC (host-mac.ts), hand the magic packet to the WakeSender
 * (the host's relay when it has one, else the controller's),
 * and record it in the host's report history as the pseudo action `wake` ("woken at …, by
 * controller"), beside the agent's own pseudo actions `plan` and `shutdown`.
 */
import { randomUUID } from 'node:crypto';
import type { Facts } from '../../core/plan/types.js';
import type { Store } from '../store/store.js';
import { hostMac } from './host-mac.js';
import type { WakeSender, WakeSent } from '../../lib/wake/wake-sender.js';
import type { Clock } from '../../lib/clock.js';

/** The pseudo action id of wake records in host history. */
export const wakeActionId = 'wake';

export type WakeResult =
  | {
      readonly host: string;
      readonly ok: true;
      readonly mac: string;
      /** Where the MAC came from: `Host manifest`, `inventory (eth0)`. */
      readonly macFrom: string;
      readonly by: string;
      readonly to: string;
      readonly at: string;
      /** What host history shows. */
      readonly message: string;
    }
  | {
      readonly host: string;
      readonly ok: false;
      readonly error: 'unknown-host' | 'no-mac' | 'invalid-mac' | 'send-failed';
      readonly message: string;
    };

export interface WakeServiceOptions {
  readonly store: Pick<Store, 'getHost' | 'getInventory' | 'ingestReports'>;
  /** `spec.mac` of the host's Host manifest in the applied revision, if any (undefined on a follower replica: inventory only). */
  manifestMac(host: string): string | undefined;
  /** The controller's own sender (its `--wake-broadcast`). */
  readonly sender: WakeSender;
  /** The sender for a host that has a relay (relay-wake-sender.ts); undefined: the controller sends. */
  senderFor?(host: string): WakeSender | undefined;
  readonly clock: Clock;
}

export class WakeService {
  constructor(private readonly o: WakeServiceOptions) {}

  /** Wakes one host; a refusal or a failed send is a result, not a throw. `why` is appended to the history entry (e.g. `deployment d's distribution is open`). */
  async wake(host: string, why?: string): Promise<WakeResult> {
    const { store } = this.o;
    if (!(await store.getHost(host))) return { host, ok: false, error: 'unknown-host', message: `no host ${host} has enrolled` };
    const inventory = await store.getInventory(host);
    const found = hostMac(host, this.o.manifestMac(host), inventory?.inventory.facts as Facts | undefined);
    if ('error' in found) return { host, ok: false, error: found.error, message: found.message };
    let sent: WakeSent;
    try {
      sent = await (this.o.senderFor?.(host) ?? this.o.sender).send(found.mac);
    } catch (err) {
      return { host, ok: false, error: 'send-failed', message: `host ${host}: the magic packet could not be sent (${(err as Error).message}); check --wake-broadcast` };
    }
    const now = new Date(this.o.clock.now());
    const at = now.toISOString();
    const message = `woken at ${at}, by ${sent.by} (magic packet for ${found.mac.text} from ${found.from} to ${sent.to})${why ? `: ${why}` : ''}`;
    await store.ingestReports(host, [{ id: `wake-${randomUUID()}`, actionId: wakeActionId, serial: 0, state: 'pending', at, reason: message }], now);
    return { host, ok: true, mac: found.mac.text, macFrom: found.from, by: sent.by, to: sent.to, at, message };
  }
}
