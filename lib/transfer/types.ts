import type { Clock } from '../clock.js';
import type { ProxyEnv } from './proxy.js';

/** One place content can be fetched from: a full content URL (`…/v1/content/{sha256}`). */
export interface DownloadSource {
  readonly name: string;
  readonly url: string;
  /** Extra request headers (e.g. the host's bearer credential: the controller serves content only to enrolled hosts). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface DownloadOptions {
  /** Tried in order; the next one is used when one fails for good or serves bad bytes. */
  readonly sources: readonly DownloadSource[];
  /** Expected lower-case hex sha256 of the whole content. */
  readonly sha256: string;
  /** Expected size in bytes. */
  readonly size: number;
  /** Final path; the partial file is `dest + '.part'`. */
  readonly dest: string;
  /** Split distribution: fetch `Range` pieces of this many bytes (absent: one request). */
  readonly segmentSize?: number;
  /** Pause between two segments. */
  readonly segmentPauseMs?: number;
  /** Aborting stops the transfer at once, keeping the partial file. */
  readonly signal?: AbortSignal;
  /** Asked at every segment boundary; true stops there (`reason: 'suspended'`), keeping the partial file. */
  readonly shouldPause?: () => boolean;
  /** Called as bytes reach the disk. */
  readonly onProgress?: (bytesDone: number, total: number, source: string) => void;
  /** A request that sends nothing for this long fails as a network error (default 30 s). */
  readonly timeoutMs?: number;
  /** Retries per source after failures that make no progress (default 4). */
  readonly maxRetries?: number;
  /** First backoff ceiling (default 500 ms); doubles per retry up to `maxDelayMs` (default 30 s). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Upper bound on a server's `Retry-After` (default 60 s). */
  readonly maxRetryAfterMs?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  /**
   * Where `http_proxy`, `https_proxy` and `no_proxy` (or upper case) are read from (proxy.ts);
   * default `process.env`. Redirects are followed in any case (at most 5).
   */
  readonly env?: ProxyEnv;
}

/** One failed try at one source. */
export interface DownloadAttempt {
  readonly source: string;
  readonly error: string;
  /** HTTP status, when the server answered. */
  readonly status?: number;
  readonly retryable: boolean;
}

export type DownloadResult =
  | {
      readonly ok: true;
      readonly path: string;
      /** Bytes received over the network by this call (a resumed download counts only the rest). */
      readonly bytesFetched: number;
      /** Name of the source that delivered the verified content. */
      readonly source: string;
      /** Failures on the way (retries, other sources). */
      readonly attempts: readonly DownloadAttempt[];
    }
  | {
      readonly ok: false;
      /**
       * `suspended`: shouldPause() said stop; `aborted`: the signal fired; both keep the partial file.
       * `failed`: every source failed; `local-error`: the disk or file system failed.
       */
      readonly reason: 'suspended' | 'aborted' | 'failed' | 'local-error';
      readonly message: string;
      /** Bytes in the partial file, where the next call resumes. */
      readonly bytesDone: number;
      readonly bytesFetched: number;
      readonly attempts: readonly DownloadAttempt[];
    };
