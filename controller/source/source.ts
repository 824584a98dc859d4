/**
 * The seam between where manifests come from (git, a local directory) and the
 * reconcile loop. A source fetches and yields immutable, content-named snapshots
 * (Flux's `main@sha1:…`); it never validates them — the reconciler decides
 * whether a revision is applied.
 */
import type { Readable } from 'node:stream';
import type { ManifestFile } from '../../core/manifest/types.js';

/** Every manifest file at one revision; never changes after it is made. */
export interface SourceSnapshot {
  /** `BRANCH@sha1:<commit>` for git, `dir@sha256:<content hash>` for a directory. */
  readonly revision: string;
  readonly files: readonly ManifestFile[];
  /** When this revision was first seen, RFC 3339. */
  readonly fetchedAt: string;
}

/** How fetching is going; shown by `/v1/status` and `/readyz`. */
export interface SourceStatus {
  readonly kind: 'git' | 'dir';
  /** The repository URL or directory followed. */
  readonly url: string;
  readonly branch?: string;
  /** Manifest folder inside the repository. */
  readonly path?: string;
  /**
   * True once a snapshot has been read: the controller can serve plans (`/readyz`), even while
   * later fetches fail — the last good revision still serves. `condition` says whether fetching works.
   */
  readonly ready: boolean;
  /** The source's own Ready condition, Flux-style: False with the reason while fetching fails. */
  readonly condition: SourceCondition;
  /** When a fetch last succeeded, RFC 3339. */
  readonly lastSuccessAt?: string;
  /** Failed fetches since the controller started (a counter; `error.failures` counts those in a row). */
  readonly fetchFailuresTotal: number;
  /** The newest revision fetched (whether or not it validates). */
  readonly revision?: string;
  readonly lastFetchAt?: string;
  /** The last fetch failed: why, since when, and when it is tried again. */
  readonly error?: {
    readonly message: string;
    readonly at: string;
    readonly failures: number;
    readonly nextAttemptAt: string;
  };
}

/** `Succeeded`: the last fetch worked; `FetchFailed`: it did not (why in `message`); `WaitingForSource`: none tried yet. */
export interface SourceCondition {
  readonly type: 'Ready';
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: 'Succeeded' | 'FetchFailed' | 'WaitingForSource';
  readonly message: string;
}

export type SnapshotListener = (snapshot: SourceSnapshot) => void;

/**
 * Fetches manifests in the background. After `start()` resolves the source has tried
 * one fetch (its outcome is in `status()`); fetch failures are recorded and retried
 * with backoff, never thrown. Listeners run once per new revision.
 */
export interface ManifestSource {
  start(): Promise<void>;
  /** Stops polling and watching; an in-flight fetch is awaited. */
  stop(): Promise<void>;
  /** The newest snapshot read, if any. */
  current(): SourceSnapshot | undefined;
  /** Registers a listener for new revisions; returns its unsubscribe function. */
  onSnapshot(listener: SnapshotListener): () => void;
  /** Fetches now. Resolves once a fetch that began after the call has finished (successful or not). */
  refresh(): Promise<void>;
  status(): SourceStatus;
  /**
   * A file of the repository as it is at `revision` (one this source produced): its bytes or a
   * stream of them; undefined when there is no such file. `path` is relative to the repository
   * root (a directory source: the directory) and must stay inside it — absolute paths and `..`
   * are refused with an error, as are symbolic links and folders.
   */
  readFile(revision: string, path: string): Promise<Readable | Uint8Array | undefined>;
}

/** `a//b/./c` → `a/b/c`; throws for an empty, absolute or `..` path (one that could leave the repository). */
export function repoFilePath(path: string): string {
  if (path.includes('\0') || /^([\\/]|[A-Za-z]:)/.test(path)) throw new Error(`${path}: not a relative path inside the repository`);
  const parts = path.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..')) throw new Error(`${path}: not a file path inside the repository`);
  return parts.join('/');
}

/** True for the paths the manifest loader reads: `*.yaml`/`*.yml`, not under a dot-folder, not a dot-file. */
export function isManifestPath(relPath: string): boolean {
  if (!/\.ya?ml$/i.test(relPath)) return false;
  return relPath.split('/').every((segment) => segment.length > 0 && !segment.startsWith('.'));
}
