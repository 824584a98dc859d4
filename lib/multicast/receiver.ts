/**
 * The receiver: joins the group, writes each block of its session into the partial file at the
 * block's offset (runs of consecutive blocks in one write), and keeps the gap list beside it
 * (`PART.map`, saved every second and at the end, never ahead of the bytes written), so a
 * restarted receiver keeps what it had. It stops when it holds every block, when a round ends
 * and it means to repair the rest over HTTP, when the sender has gone quiet, or on abort.
 *
 * Nothing received is trusted: a datagram of another session, with an index out of range or a
 * payload of the wrong length is dropped; the first copy of a block wins. Per-chunk hashes
 * (verify.ts) and the whole-file sha256 decide what is kept.
 */
import { createSocket, type Socket } from 'node:dgram';
import { type FileHandle, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '../clock.js';
import { decode, sessionId } from './datagram.js';
import { GapList } from './gap-list.js';
import type { SessionSpec } from './session.js';

export interface ReceiveOptions {
  readonly session: SessionSpec;
  /** The local address whose interface joins the group (`--multicast-interface`); absent: the system's choice. */
  readonly interface?: string;
  /** The partial file the blocks go into (created with the artifact's size). */
  readonly partPath: string;
  /** Give up when no datagram of the session arrived for this long (at the start: `firstWaitMs`). */
  readonly idleMs: number;
  readonly firstWaitMs: number;
  /** Called once the socket has joined the group (the moment to tell the sender). */
  readonly onJoined?: () => void;
  readonly onProgress?: (blocksHeld: number, blocks: number) => void;
  /** Test aid: drop this share of data datagrams on arrival (inert unless set). */
  readonly dropRate?: number;
  readonly random?: () => number;
  readonly clock: Clock;
  readonly signal?: AbortSignal;
}

export interface ReceiveResult {
  readonly gaps: GapList;
  /** Blocks written by this call. */
  readonly blocksReceived: number;
  /** Datagrams dropped: malformed, another session, or injected loss. */
  readonly dropped: number;
  readonly reason: 'complete' | 'round-end' | 'idle' | 'aborted';
}

/** Most bytes gathered into one write. */
const RUN_BYTES = 256 * 1024;

/** The gap list saved beside `partPath`. */
export function mapPath(partPath: string): string {
  return `${partPath}.map`;
}

/** Opens (or creates) the partial file and its gap list; a list for another size or block size starts empty. */
export async function openPartial(partPath: string, session: SessionSpec): Promise<{ file: FileHandle; gaps: GapList }> {
  await mkdir(dirname(partPath), { recursive: true });
  const saved = await readFile(mapPath(partPath)).catch(() => undefined);
  const file = await open(partPath, 'a+').then(async (f) => {
    await f.close();
    return open(partPath, 'r+');
  });
  await file.truncate(session.size);
  return { file, gaps: GapList.fromBuffer(saved, session.size, session.blockSize) };
}

/** Saves the gap list (atomically: a crash leaves the old one or the new one). */
export async function saveGaps(partPath: string, gaps: GapList): Promise<void> {
  await writeFile(`${mapPath(partPath)}.tmp`, gaps.toBuffer());
  await rename(`${mapPath(partPath)}.tmp`, mapPath(partPath));
}

/** Receives one session into `partPath` until one of the stops above; rejects only when it cannot join the group or write the file. */
export async function receiveSession(o: ReceiveOptions): Promise<ReceiveResult> {
  const s = o.session;
  const { file, gaps } = await openPartial(o.partPath, s);
  const taken = GapList.fromBuffer(gaps.toBuffer(), s.size, s.blockSize);
  const id = sessionId(s.sha256);
  const random = o.random ?? Math.random;
  let blocksReceived = 0;
  let dropped = 0;
  let run: { first: number; parts: Buffer[]; bytes: number } | undefined;
  const writes = new Set<Promise<void>>();
  let failed: Error | undefined;
  let lastHeard = o.clock.now();
  let heardAny = false;
  let stop: ReceiveResult['reason'] | undefined;
  let wake: (() => void) | undefined;
  const finish = (reason: ReceiveResult['reason']) => {
    stop ??= reason;
    wake?.();
  };

  const flush = () => {
    if (!run) return;
    const { first, parts } = run;
    run = undefined;
    const w = file.writev(parts, first * s.blockSize).then(
      () => {
        for (let i = 0; i < parts.length; i++) gaps.mark(first + i);
        blocksReceived += parts.length;
        o.onProgress?.(gaps.count, gaps.blocks);
      },
      (e: Error) => {
        failed ??= e;
        finish('aborted');
      },
    );
    writes.add(w);
    void w.finally(() => writes.delete(w));
  };

  const onMessage = (msg: Buffer) => {
    if (stop) return;
    const d = decode(msg);
    if (!d || d.session !== id) {
      dropped++;
      return;
    }
    lastHeard = o.clock.now();
    heardAny = true;
    if (d.type === 'end') {
      if (d.blocks !== gaps.blocks) return void dropped++;
      // Stay for the next round only when it would bring most of the file (a late joiner); otherwise repair now.
      if (d.round >= d.rounds || taken.count * 2 >= taken.blocks) finish('round-end');
      return;
    }
    if (d.index >= gaps.blocks || d.payload.length !== gaps.lengthOf(d.index) || taken.has(d.index)) return void dropped++;
    if (o.dropRate !== undefined && random() < o.dropRate) return void dropped++;
    taken.mark(d.index);
    if (run && (run.first + run.parts.length !== d.index || run.bytes >= RUN_BYTES)) flush();
    if (!run) run = { first: d.index, parts: [], bytes: 0 };
    run.parts.push(d.payload);
    run.bytes += d.payload.length;
    if (taken.complete) {
      flush();
      finish('complete');
    }
  };

  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  socket.on('message', onMessage);
  socket.on('error', () => finish('idle'));
  const onAbort = () => finish('aborted');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await bindAndJoin(socket, s, o.interface);
    o.onJoined?.();
    if (gaps.complete) finish('complete');
    let lastSaved = o.clock.now();
    while (!stop) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        o.clock.sleep(100).then(resolve, resolve);
      });
      wake = undefined;
      const now = o.clock.now();
      if (now - lastHeard > (heardAny ? o.idleMs : o.firstWaitMs)) finish('idle');
      if (run && now - lastHeard > 50) flush();
      if (now - lastSaved >= 1000) {
        lastSaved = now;
        await saveGaps(o.partPath, gaps);
      }
    }
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    socket.close();
    flush();
    await Promise.allSettled([...writes]);
    await saveGaps(o.partPath, gaps).catch(() => undefined);
    await file.close();
  }
  if (failed) throw failed;
  return { gaps, blocksReceived, dropped, reason: stop ?? 'aborted' };
}

function bindAndJoin(socket: Socket, s: SessionSpec, iface: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(s.port, () => {
      try {
        socket.addMembership(s.group, iface);
        try {
          socket.setRecvBufferSize(4 * 1024 * 1024);
        } catch {
          // the system's limit is lower: keep its default
        }
        socket.off('error', reject);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}
