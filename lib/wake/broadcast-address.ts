/** `--wake-broadcast ADDR[:PORT]`: where magic packets go; default `255.255.255.255:9` (the discard port). */
import { isIP } from 'node:net';

export interface BroadcastAddress {
  readonly address: string;
  readonly port: number;
}

export const defaultWakeBroadcast = '255.255.255.255:9';

export type BroadcastParse = { readonly target: BroadcastAddress } | { readonly error: string };

/** Parses `ADDR[:PORT]` or `[IPv6]:PORT`; ADDR must be an IP address (no name lookups on the way to a sleeping host). */
export function parseBroadcastAddress(text: string): BroadcastParse {
  const t = text.trim();
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(t);
  const address = m ? (m[1] ?? m[2] ?? '') : '';
  const port = m?.[3] !== undefined ? Number(m[3]) : 9;
  if (!m || isIP(address) === 0 || port < 1 || port > 65535) {
    return { error: `--wake-broadcast ${text}: expected ADDR[:PORT] with an IP address, e.g. ${defaultWakeBroadcast} or 192.168.1.255:9` };
  }
  return { target: { address, port } };
}

/** `ADDR:PORT` (`[ADDR]:PORT` for IPv6). */
export function formatBroadcastAddress(target: BroadcastAddress): string {
  return isIP(target.address) === 6 ? `[${target.address}]:${target.port}` : `${target.address}:${target.port}`;
}
