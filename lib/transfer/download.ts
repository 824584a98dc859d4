/**
 * The downloader (DESIGN §2, §5) of agents, and of the controller for URL artifacts: fetches
 * content from its sources in order into `dest + '.part'`, resuming with `Range` from the partial
 * file's exact length after any interruption, optionally in paced segments, verifies sha256, and
 * only then renames to `dest`. Each request follows redirects and goes through the proxy the
 * environment names for it (http-get.ts, proxy.ts).
 *
 * A finished download is not fsynced: on a fast link that cost more than the transfer (0.5–0.9 s
 * per GiB here). The sha256 was verified on the bytes as they went to the file, and until the
 * machine restarts the page cache serves exactly those bytes; a caller that keeps the file across
 * restarts records that with `verified.ts`, which has a file from an earlier boot hashed again.
 * Split transfers do fsync at each segment boundary, so a power cut costs at most the segment
 * under way.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { backoffDelay } from '../backoff.js';
import { systemClock, type Clock } from '../clock.js';
import { parseContentRange } from './content-range.js';
import { LocalWriteError, TransferError } from './errors.js';
import { asTransferError, fetchContent } from './http-get.js';
import { PartialFile } from './partial-file.js';
import { proxySettings, type ProxySettings } from './proxy.js';
import type { DownloadAttempt, DownloadOptions, DownloadResult, DownloadSource } from './types.js';

export type { DownloadAttempt, DownloadOptions, DownloadResult, DownloadSource } from './types.js';

/**
 * Downloads and verifies one artifact. Never throws for transfer problems: the result says
 * what happened. On success `dest` holds the verified content; otherwise `dest` is untouched
 * and `dest.part` holds the bytes a later call resumes from (none after a hash mismatch).
 */
export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const partPath = `${options.dest}.part`;
  const attempts: DownloadAttempt[] = [];
  let bytesFetched = 0;
  let part: PartialFile | undefined;
  const fail = (reason: 'suspended' | 'aborted' | 'failed' | 'local-error', message: string): DownloadResult => ({
    ok: false,
    reason,
    message,
    bytesDone: part?.length ?? 0,
    bytesFetched,
    attempts,
  });
  try {
    await mkdir(dirname(options.dest), { recursive: true });
    part = await PartialFile.open(partPath, options.size);
  } catch (e) {
    return fail('local-error', `cannot open ${partPath}: ${(e as Error).message}`);
  }
  const run = new Transfer(options, part, (n) => (bytesFetched += n));
  try {
    for (const source of options.sources) {
      const outcome = await run.fromSource(source, attempts);
      if (outcome === 'next-source') continue;
      if (outcome === 'verified') {
        await part.close();
        part = undefined;
        await rename(partPath, options.dest);
        return { ok: true, path: options.dest, bytesFetched, source: source.name, attempts };
      }
      if (outcome === 'suspended') return fail('suspended', `suspended at byte ${part.length} of ${options.size}`);
      if (outcome === 'aborted') return fail('aborted', `aborted at byte ${part.length} of ${options.size}`);
      return fail('local-error', outcome.localError);
    }
    const last = attempts.at(-1);
    return fail('failed', options.sources.length === 0 ? 'no content source' : `all ${options.sources.length} source(s) failed; last: ${last?.source}: ${last?.error}`);
  } catch (e) {
    return fail('local-error', (e as Error).message);
  } finally {
    if (part) {
      const empty = part.length === 0;
      await part.close().catch(() => undefined);
      if (empty) await rm(partPath, { force: true }).catch(() => undefined);
    }
  }
}

type SourceOutcome = 'verified' | 'next-source' | 'suspended' | 'aborted' | { readonly localError: string };

class Transfer {
  private readonly clock: Clock;
  private readonly proxy: ProxySettings | undefined;
  constructor(
    private readonly options: DownloadOptions,
    private readonly part: PartialFile,
    private readonly countFetched: (bytes: number) => void,
  ) {
    this.clock = options.clock ?? systemClock;
    this.proxy = proxySettings(options.env ?? process.env);
  }

  /** Tries one source, with retries, until the content is verified or this source is given up. */
  async fromSource(source: DownloadSource, attempts: DownloadAttempt[]): Promise<SourceOutcome> {
    const o = this.options;
    const maxRetries = o.maxRetries ?? 4;
    let retries = 0;
    let fetchedHere = 0;
    let refetchedStale = false;
    for (;;) {
      const before = this.part.length;
      try {
        const done = await this.fetchRemaining(source, (n) => (fetchedHere += n));
        if (done === 'suspended') return 'suspended';
      } catch (e) {
        if (e instanceof LocalWriteError) return { localError: e.message };
        if (o.signal?.aborted) return 'aborted';
        const error = asTransferError(e);
        attempts.push({
          source: source.name,
          error: error.message,
          ...(error.details.status !== undefined ? { status: error.details.status } : {}),
          retryable: error.retryable,
        });
        if (error.details.discardPartial) await this.part.reset();
        if (!error.retryable) return 'next-source';
        const progressed = this.part.length > before;
        retries = progressed ? 0 : retries + 1;
        if (retries > maxRetries) return 'next-source';
        const delay =
          error.details.retryAfterMs !== undefined
            ? Math.min(error.details.retryAfterMs, o.maxRetryAfterMs ?? 60_000)
            : backoffDelay(retries, { baseMs: o.baseDelayMs ?? 500, maxMs: o.maxDelayMs ?? 30_000, random: o.random ?? Math.random });
        try {
          await this.clock.sleep(delay, o.signal);
        } catch {
          return 'aborted';
        }
        continue;
      }
      const actual = await this.part.digest();
      if (actual === o.sha256.toLowerCase()) return 'verified';
      await this.part.reset();
      if (fetchedHere === 0 && !refetchedStale) {
        // The bytes came from an earlier run, maybe from another source: fetch afresh from this one.
        attempts.push({ source: source.name, error: `partial file from an earlier run failed sha256 check; refetching`, retryable: true });
        refetchedStale = true;
        continue;
      }
      attempts.push({ source: source.name, error: `sha256 mismatch: expected ${o.sha256} got ${actual}`, retryable: false });
      return 'next-source';
    }
  }

  /** Appends the rest of the content from one source, a segment at a time; throws on failure. */
  private async fetchRemaining(source: DownloadSource, countHere: (n: number) => void): Promise<'complete' | 'suspended'> {
    const o = this.options;
    const part = this.part;
    let first = true;
    while (part.length < o.size) {
      if (!first && o.segmentPauseMs) {
        if (o.shouldPause?.()) return 'suspended';
        await this.clock.sleep(o.segmentPauseMs, o.signal);
      }
      if (o.shouldPause?.()) return 'suspended';
      first = false;
      const start = part.length;
      const end = o.segmentSize ? Math.min(start + o.segmentSize, o.size) - 1 : o.size - 1;
      const range = !o.segmentSize && start === 0 ? undefined : `bytes=${start}-${o.segmentSize ? end : ''}`;
      let stopAt = o.size;
      await fetchContent(
        source.url,
        {
          ...(range ? { range } : {}),
          ...(source.headers ? { headers: source.headers } : {}),
          timeoutMs: o.timeoutMs ?? 30_000,
          ...(o.signal ? { signal: o.signal } : {}),
          now: () => this.clock.now(),
          ...(this.proxy ? { proxy: this.proxy } : {}),
        },
        (head) => {
          if (head.statusCode === 206) {
            const cr = parseContentRange(head.header('content-range'));
            if (!cr || cr.start !== start || cr.end >= o.size || (cr.total !== undefined && cr.total !== o.size)) {
              throw new TransferError(`unexpected Content-Range ${head.header('content-range') ?? '(none)'} for bytes ${start}-${end} of ${o.size}`, false);
            }
            stopAt = cr.end + 1;
          } else {
            const length = head.header('content-length');
            if (length !== undefined && Number(length) !== o.size) {
              throw new TransferError(`source has ${length} bytes, expected ${o.size}`, false);
            }
            // The server ignored Range: start over from byte 0 (the truncation is queued before the body).
            if (start > 0) part.reset().catch(() => undefined);
          }
          return {
            append: async (chunks) => {
              const n = await part.append(chunks, stopAt);
              this.countFetched(n);
              countHere(n);
              o.onProgress?.(part.length, o.size, source.name);
            },
          };
        },
      );
      if (part.length !== stopAt) {
        throw new TransferError(`connection closed at byte ${part.length}, expected ${stopAt}`, true);
      }
      if (o.segmentSize) await part.sync();
    }
    return 'complete';
  }
}
