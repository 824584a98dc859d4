/**
 * The multicast datagram (docs/multicast.md): a 24-byte header, then for a `data` datagram one
 * block of the artifact. Every field is checked on decoding; anything that does not fit the
 * receiver's session is dropped, never written.
 *
 *   0  u32  magic 'FMC1'
 *   4  u8   type: 1 data, 2 end of round
 *   5  u8   rounds the sender means to send at most
 *   6  u16  round (1-based)
 *   8  8B   session: the first 8 bytes of the artifact's sha256
 *   16 u32  data: block index; end: the number of blocks
 *   20 u32  reserved, 0
 */
export const MAGIC = 0x464d4331;
export const HEADER_BYTES = 24;

export type Datagram =
  | { readonly type: 'data'; readonly rounds: number; readonly round: number; readonly session: string; readonly index: number; readonly payload: Buffer }
  | { readonly type: 'end'; readonly rounds: number; readonly round: number; readonly session: string; readonly blocks: number };

/** The session id a datagram carries: the artifact's sha256, first 16 hex digits. */
export function sessionId(sha256: string): string {
  return sha256.toLowerCase().slice(0, 16);
}

/** The header of a datagram (the payload goes after it, in the same send). */
export function encodeHeader(d: { type: 'data' | 'end'; rounds: number; round: number; session: string; value: number }): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeUInt32BE(MAGIC, 0);
  b.writeUInt8(d.type === 'data' ? 1 : 2, 4);
  b.writeUInt8(d.rounds, 5);
  b.writeUInt16BE(d.round, 6);
  b.write(d.session, 8, 8, 'hex');
  b.writeUInt32BE(d.value, 16);
  return b;
}

/** The datagram in `b`, or undefined for anything malformed. The payload is a view into `b`. */
export function decode(b: Buffer): Datagram | undefined {
  if (b.length < HEADER_BYTES || b.readUInt32BE(0) !== MAGIC || b.readUInt32BE(20) !== 0) return undefined;
  const type = b.readUInt8(4);
  const rounds = b.readUInt8(5);
  const round = b.readUInt16BE(6);
  const session = b.toString('hex', 8, 16);
  const value = b.readUInt32BE(16);
  if (round < 1 || round > rounds) return undefined;
  if (type === 1) return { type: 'data', rounds, round, session, index: value, payload: b.subarray(HEADER_BYTES) };
  if (type === 2 && b.length === HEADER_BYTES) return { type: 'end', rounds, round, session, blocks: value };
  return undefined;
}
