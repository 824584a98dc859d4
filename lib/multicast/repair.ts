/**
 * After a session: drop chunks that fail their hash from the signed plan, fetch the gaps with
 * HTTP Range from the content sources (in order, the next one when one fails), and verify the
 * whole file's sha256 before it becomes the artifact. A file that fails is removed: the caller
 * then downloads the ordinary way. A forged datagram therefore costs at most a repair.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, rename, rm } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import { parseContentRange } from '../transfer/content-range.js';
import { TransferError } from '../transfer/errors.js';
import { fetchContent } from '../transfer/http-get.js';
import type { DownloadSource } from '../transfer/types.js';
import type { ByteRange, GapList } from './gap-list.js';
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

/** Range requests under way at once during a repair. */
const REPAIR_REQUESTS = 8;

/** Repairs `partPath` and, when it verifies, renames it to `dest`. */
export async function repairAndVerify(o: RepairOptions): Promise<RepairResult> {
  const { file, gaps } = await openPartial(o.partPath, o.session);
  let bytesRepaired = 0;
  let chunksDropped = 0;
  try {
    // Twice at most: a chunk completed by repair is checked again (a forged block in it is found then).
    for (let pass = 0; pass < 2; pass++) {
      chunksDropped += await dropBadChunks(file, gaps, o.session);
      const ranges = gaps.missing();
      let next = 0;
      let failure: string | undefined;
      // A few ranges at once: a lossy session leaves thousands of small gaps, each a request.
      const worker = async () => {
        while (failure === undefined && next < ranges.length) {
          const range = ranges[next++]!;
          const got = await fetchRange(file, range, o);
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
async function fetchRange(file: FileHandle, range: ByteRange, o: RepairOptions): Promise<number | string> {
  const problems: string[] = [];
  for (const source of o.sources) {
    let at = range.start;
    try {
      await fetchContent(
        source.url,
        {
          range: `bytes=${range.start}-${range.end}`,
          ...(source.headers ? { headers: source.headers } : {}),
          timeoutMs: o.timeoutMs ?? 30_000,
          ...(o.signal ? { signal: o.signal } : {}),
          now: () => o.clock.now(),
        },
        (head) => {
          const cr = parseContentRange(head.header('content-range'));
          if (head.statusCode !== 206 || !cr || cr.start !== range.start || cr.end !== range.end) {
            throw new TransferError(`${source.name} did not answer the range ${range.start}-${range.end} with it`, false);
          }
          return {
            // Appends may overlap (the next one starts before the last write finished): each takes its position at once.
            append: async (chunks) => {
              const position = at;
              for (const c of chunks) at += c.length;
              if (at > range.end + 1) throw new TransferError(`${source.name} sent more than the range`, false);
              await file.writev(chunks, position);
            },
          };
        },
      );
      if (at === range.end + 1) return range.end + 1 - range.start;
      problems.push(`${source.name}: the range ended at byte ${at}`);
    } catch (e) {
      problems.push(`${source.name}: ${(e as Error).message}`);
    }
  }
  return `could not repair bytes ${range.start}-${range.end}: ${problems.join('; ') || 'no content source'}`;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
