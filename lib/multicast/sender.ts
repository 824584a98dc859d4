/**
 * The pacing sender: reads a verified artifact and multicasts it in blocks at `rate` bytes per
 * second, a round at a time, each round closed by `end` datagrams; after a round it waits for
 * the receivers (`finished`) and starts another only while some are not done.
 */
import { createSocket, type Socket } from 'node:dgram';
import { open } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import { encodeHeader, HEADER_BYTES, sessionId } from './datagram.js';

export interface SendOptions {
  readonly group: string;
  readonly port: number;
  /** The local address whose interface sends (`--multicast-interface`); absent: the system's choice. */
  readonly interface?: string;
  /** Hops (default 1: the site's segment). */
  readonly ttl?: number;
  /** The verified artifact. */
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  readonly blockSize: number;
  /** Bytes per second put on the wire (headers included). */
  readonly rate: number;
  readonly rounds: number;
  /** Asked after each round (after `lingerMs`, or sooner once it says true): true ends the session. */
  readonly finished: () => boolean;
  /** How long to wait after a round for receivers to repair and say they are done. */
  readonly lingerMs: number;
  readonly clock: Clock;
  readonly signal?: AbortSignal;
}

export interface SendResult {
  readonly rounds: number;
  readonly datagrams: number;
  /** UDP payload bytes sent (header and block). */
  readonly bytesSent: number;
  readonly reason: 'finished' | 'rounds' | 'aborted';
}

const READ_BYTES = 1 << 20;
/** Datagrams handed to the socket before waiting for them to leave. */
const BATCH = 32;

/** Sends one session to its end; rejects only when the socket or the file fails. */
export async function sendSession(o: SendOptions): Promise<SendResult> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, o.interface, () => resolve());
  });
  socket.setMulticastTTL(o.ttl ?? 1);
  socket.setMulticastLoopback(true);
  if (o.interface) socket.setMulticastInterface(o.interface);
  const file = await open(o.file, 'r');
  const pace = new Pace(o.rate, o.clock);
  let datagrams = 0;
  let bytesSent = 0;
  let round = 0;
  let reason: SendResult['reason'] = 'rounds';
  try {
    const blocks = Math.ceil(o.size / o.blockSize);
    const session = sessionId(o.sha256);
    const buffer = Buffer.alloc(Math.max(o.blockSize, Math.floor(READ_BYTES / o.blockSize) * o.blockSize));
    while (round < o.rounds) {
      round++;
      for (let offset = 0; offset < o.size && !o.signal?.aborted; offset += buffer.length) {
        const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, o.size - offset), offset);
        const pending: Promise<void>[] = [];
        for (let at = 0; at < bytesRead && !o.signal?.aborted; at += o.blockSize) {
          const payload = buffer.subarray(at, Math.min(at + o.blockSize, bytesRead));
          const header = encodeHeader({ type: 'data', rounds: o.rounds, round, session, value: (offset + at) / o.blockSize });
          await pace.take(HEADER_BYTES + payload.length, o.signal);
          pending.push(send(socket, [header, payload], o.port, o.group));
          datagrams++;
          bytesSent += HEADER_BYTES + payload.length;
          if (pending.length >= BATCH) await Promise.all(pending.splice(0));
        }
        // The buffer is reused by the next read: every datagram made from it must have left.
        await Promise.all(pending);
      }
      if (o.signal?.aborted) return { rounds: round, datagrams, bytesSent, reason: 'aborted' };
      const end = encodeHeader({ type: 'end', rounds: o.rounds, round, session, value: blocks });
      for (let i = 0; i < 3; i++) {
        await send(socket, [end], o.port, o.group);
        datagrams++;
        bytesSent += HEADER_BYTES;
        await sleep(o.clock, 5, o.signal);
      }
      const until = o.clock.now() + o.lingerMs;
      while (!o.finished() && o.clock.now() < until && !o.signal?.aborted) await sleep(o.clock, 50, o.signal);
      if (o.finished()) {
        reason = 'finished';
        break;
      }
    }
    if (o.signal?.aborted) reason = 'aborted';
    return { rounds: round, datagrams, bytesSent, reason };
  } finally {
    await file.close();
    socket.close();
  }
}

function send(socket: Socket, parts: Buffer[], port: number, group: string): Promise<void> {
  return new Promise((resolve, reject) => socket.send(parts, port, group, (e) => (e ? reject(e) : resolve())));
}

async function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await clock.sleep(ms, signal);
  } catch {
    // aborted: the caller looks at the signal
  }
}

/** A token bucket of `rate` bytes per second with a burst of 5 ms' worth (at least 64 KiB). */
class Pace {
  private tokens: number;
  private last: number;
  private readonly burst: number;
  constructor(
    private readonly rate: number,
    private readonly clock: Clock,
  ) {
    this.burst = Math.max(64 * 1024, rate / 200);
    this.tokens = this.burst;
    this.last = clock.now();
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
      if (this.tokens >= bytes) {
        this.tokens -= bytes;
        return;
      }
      await sleep(this.clock, Math.max(1, Math.ceil(((bytes - this.tokens) * 1000) / this.rate)), signal);
      if (signal?.aborted) return;
    }
  }
}
