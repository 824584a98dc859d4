/** The Wake-on-LAN magic packet: 6 bytes of 0xFF, then the target's MAC 16 times (102 bytes). */
import type { Mac } from './mac.js';

export const magicPacketLength = 6 + 16 * 6;

/** The 102-byte payload that wakes the card with this MAC. */
export function magicPacket(mac: Mac): Buffer {
  const packet = Buffer.alloc(magicPacketLength, 0xff);
  for (let i = 0; i < 16; i++) mac.bytes.copy(packet, 6 + i * 6);
  return packet;
}
