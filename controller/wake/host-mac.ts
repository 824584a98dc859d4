/**
 * Which MAC wakes a host: `spec.mac` of its Host manifest, else the first network interface its
 * agent reported (by interface name) whose MAC is a valid card address.
 */
import type { Facts } from '../../core/plan/types.js';
import { parseMac, type Mac } from '../../lib/wake/mac.js';

export type HostMac = { readonly mac: Mac; readonly from: string } | { readonly error: 'no-mac' | 'invalid-mac'; readonly message: string };

/** Pure: the MAC to wake `host` with, or why there is none (the message says what to do). */
export function hostMac(host: string, manifestMac: string | undefined, facts: Facts | undefined): HostMac {
  if (manifestMac !== undefined) {
    const parsed = parseMac(manifestMac);
    if ('error' in parsed) return { error: 'invalid-mac', message: `host ${host}: spec.mac of its Host manifest: ${parsed.error}; fix it in git` };
    return { mac: parsed.mac, from: 'Host manifest' };
  }
  for (const nic of facts?.network ?? []) {
    if (nic.mac === undefined) continue;
    const parsed = parseMac(nic.mac);
    if ('mac' in parsed) return { mac: parsed.mac, from: `inventory (${nic.name})` };
  }
  return {
    error: 'no-mac',
    message: `no MAC address known for host ${host}: its agent reported none; add \`mac: "aa:bb:cc:dd:ee:ff"\` to the spec of a Host manifest named ${host} (kind: Host) and commit it`,
  };
}
