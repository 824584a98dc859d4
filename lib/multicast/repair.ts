/**
 * After a session: drop chunks that fail their hash from the signed plan, fetch the gaps with
 * HTTP Range from the content sources (in order, the next one when one fails; neighbouring gaps in
 * one request, on kept-alive connections), and verify the
 * whole file's sha256 before it becomes the artifact. A file that fails is removed: the caller
 * then downloads the ordinary way. A forged datagram therefore costs at most a repair.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, rename, rm } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import http from 'node:http';
import https from 'node:https';
import { parseContentRange } from '../transfer/content-range.js';
import { TransferError } from '../transfer/errors.js';
import type { DownloadSource } from '../transfer/types.js';
import { type ByteRange, coalesceRanges, type GapList } from './gap-list.js';
import { mapPath, openPartial, saveGaps } from './receiver.js';
import type { SessionSpec } from './session.js';

export interface RepairOptions {
  readonly session: SessionSpec;
  readonly partPath: string;
  /** Where the verified artifact goes. */
  readonly dest: string;
  readonly sources: readonly DownloadSource[];
  readonly clock: Clock;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export type RepairResult =
  | { readonly kind: 'verified'; readonly bytesRepaired: number; readonly chunksDropped: number }
  /** The whole file failed its sha256 (the partial file is removed). */
  | { readonly kind: 'corrupt'; readonly bytesRepaired: number; readonly chunksDropped: number }
  /** A gap could not be fetched from any source (the partial file and its gap list stay). */
  | { readonly kind: 'failed'; readonly bytesRepaired: number; readonly chunksDropped: number; readonly message: string };

/** Range requests under way at once during a repair (and connections kept open for them). */
const REPAIR_REQUESTS = 8;
/**
 * Gaps closer than this are fetched in one request, the held bytes between them again: about
 * three 1408-byte blocks, a small fraction of the repair at 5% random loss, and fewer requests.
 */
export const REPAIR_MAX_HOLE = 4096;

/** Repairs `partPath` and, when it verifies, renames it to `dest`. */
export async function repairAndVerify(o: RepairOptions): Promise<RepairResult> {
  const { file, gaps } = await openPartial(o.partPath, o.session);
  let bytesRepaired = 0;
  let chunksDropped = 0;
  const agents = keptAlive();
  try {
    // Twice at most: a chunk completed by repair is checked again (a forged block in it is found then).
    for (let pass = 0; pass < 2; pass++) {
      chunksDropped += await dropBadChunks(file, gaps, o.session);
      const ranges = coalesceRanges(gaps.missing(), REPAIR_MAX_HOLE);
      let next = 0;
      let failure: string | undefined;
      // A few ranges at once: a lossy session leaves thousands of small gaps, each a request.
      const worker = async () => {
        while (failure === undefined && next < ranges.length) {
          const range = ranges[next++]!;
          const got = await fetchRange(file, range, o, agents);
          if (typeof got === 'string') {
            failure ??= got;
            return;
          }
          bytesRepaired += got;
          for (let i = range.start / gaps.blockSize; i * gaps.blockSize <= range.end; i++) gaps.mark(i);
        }
      };
      await Promise.all(Array.from({ length: Math.min(REPAIR_REQUESTS, ranges.length) }, worker));
      if (failure !== undefined) {
        await saveGaps(o.partPath, gaps);
        return { kind: 'failed', bytesRepaired, chunksDropped, message: failure };
      }
      if (o.session.chunks === undefined) break;
    }
    chunksDropped += await dropBadChunks(file, gaps, o.session);
  } finally {
    agents.http.destroy();
    agents.https.destroy();
    await file.close();
  }
  const actual = gaps.complete ? await sha256Of(o.partPath) : '';
  await rm(mapPath(o.partPath), { force: true });
  if (actual !== o.session.sha256.toLowerCase()) {
    await rm(o.partPath, { force: true });
    return { kind: 'corrupt', bytesRepaired, chunksDropped };
  }
  await rename(o.partPath, o.dest);
  return { kind: 'verified', bytesRepaired, chunksDropped };
}

/**
 * Clears the blocks of every fully held chunk whose sha256 differs from the plan's; returns how
 * many chunks failed. Chunks need not align with blocks: a block across a chunk boundary is
 * cleared with either chunk.
 */
async function dropBadChunks(file: FileHandle, gaps: GapList, s: SessionSpec): Promise<number> {
  if (s.chunks === undefined || s.chunks.size < 1) return 0;
  const cs = s.chunks.size;
  const buffer = Buffer.alloc(cs);
  let dropped = 0;
  for (let c = 0; c * cs < s.size; c++) {
    const length = Math.min(cs, s.size - c * cs);
    const first = Math.floor((c * cs) / s.blockSize);
    const last = Math.floor((c * cs + length - 1) / s.blockSize);
    let held = true;
    for (let i = first; i <= last && held; i++) held = gaps.has(i);
    if (!held) continue;
    await file.read(buffer, 0, length, c * cs);
    if (createHash('sha256').update(buffer.subarray(0, length)).digest('hex') === s.chunks.sha256[c]?.toLowerCase()) continue;
    for (let i = first; i <= last; i++) gaps.clear(i);
    dropped++;
  }
  return dropped;
}

/** Fetches one range into the file from the first source that serves it: the bytes, or why none did. */
async function fetchRange(file: FileHandle, range: ByteRange, o: RepairOptions, agents: KeptAlive): Promise<number | string> {
  const problems: string[] = [];
  for (const source of o.sources) {
    try {
      const got = await getRange(file, range, source, o, agents);
      if (got === range.end + 1) return range.end + 1 - range.start;
      problems.push(`${source.name}: the range ended at byte ${got}`);
    } catch (e) {
      problems.push(`${source.name}: ${(e as Error).message}`);
    }
  }
  return `could not repair bytes ${range.start}-${range.end}: ${problems.join('; ') || 'no content source'}`;
}

/** Connections kept open for one repair: thousands of small ranges on a few sockets, not one socket each. */
interface KeptAlive {
  readonly http: http.Agent;
  readonly https: https.Agent;
}

function keptAlive(): KeptAlive {
  const options = { keepAlive: true, maxSockets: REPAIR_REQUESTS };
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

/** One Range GET on a kept-alive connection, written at its offset: resolves with the position after the last byte written. */
function getRange(file: FileHandle, range: ByteRange, source: DownloadSource, o: RepairOptions, agents: KeptAlive): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(source.url);
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') return reject(new TransferError(`unsupported protocol ${url.protocol}`, false));
    const request = (secure ? https : http).request(url, {
      agent: secure ? agents.https : agents.http,
      headers: { ...(source.headers ?? {}), range: `bytes=${range.start}-${range.end}` },
      ...(o.signal ? { signal: o.signal } : {}),
    });
    request.setTimeout(o.timeoutMs ?? 30_000, () => request.destroy(new TransferError(`no answer from ${source.name} for ${o.timeoutMs ?? 30_000} ms`, true)));
    request.on('error', reject);
    request.on('response', (response) => {
      const cr = parseContentRange(response.headers['content-range']);
      if (response.statusCode !== 206 || !cr || cr.start !== range.start || cr.end !== range.end) {
        response.resume();
        return reject(new TransferError(`${source.name} did not answer the range ${range.start}-${range.end} with it (HTTP ${response.statusCode})`, false));
      }
      let at = range.start;
      let writing = Promise.resolve();
      response.on('data', (chunk: Buffer) => {
        const position = at;
        at += chunk.length;
        if (at > range.end + 1) return response.destroy(new TransferError(`${source.name} sent more than the range`, false));
        // Writes may overlap (each has its position); the socket waits while the disk is behind.
        response.pause();
        writing = writing
          .then(() => file.write(chunk, 0, chunk.length, position))
          .then(
            () => void response.resume(),
            (e: unknown) => void response.destroy(e as Error),
          );
      });
      response.on('error', reject);
      response.on('end', () => writing.then(() => resolve(at), reject));
    });
    request.end();
  });
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
