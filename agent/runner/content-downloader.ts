/**
 * The real Downloader: the transfer layer's resumable, verified `download` into
 * `DATA/content/`, with a record of the boot each artifact was verified in (verified.ts).
 */
import { stat } from 'node:fs/promises';
import type { Clock } from '../../lib/clock.js';
import type { ContentSource } from '../../core/plan/types.js';
import { checkContent, type DownloadAttempt, type DownloadSource, download, markVerified, verifiedThisBoot } from './transfer.js';
import type { Artifact, ContentState, DownloadOutcome, DownloadRequest, Downloader, SourceProblem } from './downloader.js';
import { contentPath } from './layout.js';

export interface ContentDownloaderOptions {
  readonly dataDir: string;
  /** `--server`: the controller source's URL when the plan gives none. */
  readonly server: string;
  /** The host's bearer credential, sent with content requests. */
  readonly credential: string;
  readonly clock?: Clock;
}

export class ContentDownloader implements Downloader {
  constructor(private readonly o: ContentDownloaderOptions) {}

  async kept(artifact: Artifact): Promise<{ content: ContentState; partialBytes: number }> {
    const path = contentPath(this.o.dataDir, artifact);
    const [file, part] = await Promise.all([stat(path).catch(() => undefined), stat(`${path}.part`).catch(() => undefined)]);
    const content: ContentState = !file?.isFile() ? 'missing' : file.size === artifact.size && (await verifiedThisBoot(path)) ? 'verified' : 'unverified';
    return { content, partialBytes: part?.size ?? 0 };
  }

  async verify(artifact: Artifact): Promise<'verified' | 'corrupt' | 'missing'> {
    const check = await checkContent(contentPath(this.o.dataDir, artifact), artifact.sha256, artifact.size);
    return check === 'trusted' || check === 'reverified' ? 'verified' : check;
  }

  async download(r: DownloadRequest): Promise<DownloadOutcome> {
    const sha = r.artifact.sha256.toLowerCase();
    const dest = contentPath(this.o.dataDir, r.artifact);
    const result = await download({
      sources: contentSources(r.sources, sha, this.o),
      sha256: sha,
      size: r.artifact.size,
      dest,
      ...(r.segmentSize ? { segmentSize: r.segmentSize } : {}),
      ...(r.segmentPauseMs ? { segmentPauseMs: r.segmentPauseMs } : {}),
      shouldPause: r.shouldPause,
      ...(r.signal ? { signal: r.signal } : {}),
      onProgress: (done, total) => r.onProgress(done, total),
      ...(this.o.clock ? { clock: this.o.clock } : {}),
    });
    const problems = result.attempts.flatMap(problem);
    if (result.ok) {
      await markVerified(dest);
      return { kind: 'verified', source: result.source, bytesFetched: result.bytesFetched, problems };
    }
    if (result.reason === 'suspended' || result.reason === 'aborted') return { kind: 'paused', bytesDone: result.bytesDone, problems };
    return { kind: 'failed', local: result.reason === 'local-error', message: result.message, bytesDone: result.bytesDone, problems };
  }
}

/** The plan's sources (none: the controller) as content URLs of `sha`, with the host's credential. */
export function contentSources(list: readonly ContentSource[], sha: string, o: { readonly server: string; readonly credential: string }): DownloadSource[] {
  const headers = { authorization: `Bearer ${o.credential}` };
  const sources = list.length > 0 ? list : [{ kind: 'controller' as const, name: 'controller' }];
  return sources.map((s) => ({ name: s.name, url: `${baseUrl(s, o.server)}/v1/content/${sha}`, headers }));
}

/** A source's base URL without a trailing slash (the controller's: `--server`). */
export function baseUrl(s: ContentSource, server: string): string {
  return (s.url ?? server).replace(/\/+$/, '');
}

/**
 * A failed attempt worth telling about: one that made the source give up, or a partial file
 * from an earlier run that failed its check. The transfer layer marks the latter only in its
 * message; this is the one place that reads it (until its attempts carry a kind).
 */
function problem(x: DownloadAttempt): SourceProblem[] {
  if (!x.retryable) return [{ source: x.source, kind: 'refused', message: x.error }];
  if (x.error.startsWith('partial file from an earlier run')) return [{ source: x.source, kind: 'stale-partial', message: x.error }];
  return [];
}
