/** The seam that keeps an action's artifact on this host: what is there, checking it again, fetching it. */
import type { ContentSource } from '../../core/plan/types.js';

export interface Artifact {
  readonly sha256: string;
  readonly size: number;
  /** Bytes of file content it unpacks to, when declared: unpacking stops past it. */
  readonly unpackedSize?: number;
  /** Per-chunk sha256s from the signed plan (multicast receivers drop a bad chunk at once). */
  readonly chunks?: { readonly size: number; readonly sha256: readonly string[] };
}

/** `verified`: checked in this boot and unchanged; `unverified`: kept from an earlier boot (hash it again); `missing`. */
export type ContentState = 'verified' | 'unverified' | 'missing';

/** One source that failed on the way and is worth telling about (a retry that later succeeded is not). */
export interface SourceProblem {
  readonly source: string;
  /** `refused`: the source failed for good (HTTP status, wrong size, sha256 mismatch); `stale-partial`: bytes from an earlier run were wrong. */
  readonly kind: 'refused' | 'stale-partial';
  readonly message: string;
}

export type DownloadOutcome =
  | { readonly kind: 'verified'; readonly source: string; readonly bytesFetched: number; readonly problems: readonly SourceProblem[] }
  /** Stopped at a segment boundary (`shouldPause`) or at once (the signal); the partial file is kept. */
  | { readonly kind: 'paused'; readonly bytesDone: number; readonly problems: readonly SourceProblem[] }
  /** Every source failed (`local`: the disk did); the next try resumes from `bytesDone`. */
  | { readonly kind: 'failed'; readonly local: boolean; readonly message: string; readonly bytesDone: number; readonly problems: readonly SourceProblem[] };

export interface DownloadRequest {
  readonly artifact: Artifact;
  /** The plan's sources, in order (none: the controller). */
  readonly sources: readonly ContentSource[];
  readonly segmentSize?: number;
  readonly segmentPauseMs?: number;
  /** `distribute.multicast`: receive the first multicast source's session, then repair; unicast stays the fallback. */
  readonly multicast?: boolean;
  /** Asked at every segment boundary; true stops there. */
  readonly shouldPause: () => boolean;
  /** Aborting stops at once, keeping the partial file. */
  readonly signal?: AbortSignal;
  readonly onProgress: (bytesDone: number, total: number) => void;
}

export interface Downloader {
  /** What is kept of `artifact` here, and how many bytes of an unfinished download. Cheap: hashes nothing. */
  kept(artifact: Artifact): Promise<{ readonly content: ContentState; readonly partialBytes: number }>;
  /** Hashes the kept artifact again: `verified`, or `corrupt` (then it is removed) or `missing`. */
  verify(artifact: Artifact): Promise<'verified' | 'corrupt' | 'missing'>;
  /** Fetches and verifies the artifact, resuming a partial one; never throws for transfer problems. */
  download(request: DownloadRequest): Promise<DownloadOutcome>;
}
