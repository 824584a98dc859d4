/**
 * Content ingestion (issue 4 item 6): brings each Package's artifact into the content store and
 * says, per sha256, whether it is available — and if not, why, in words an operator can act on.
 * A `source` that is a path in the manifest repository is read through the caller's
 * `readRepoFile`; an http(s) URL is fetched with the resumable, verifying downloader the agents
 * use too (lib/transfer) into a temporary file, then stored. Everything is verified (sha256 and size)
 * by the content store while it is written; nothing unverified is ever stored.
 */
import { isStorageFull } from '../../lib/storage-full.js';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { systemClock, type Clock } from '../../lib/clock.js';
import { download } from '../../lib/transfer/download.js';
import type { DownloadOptions } from '../../lib/transfer/types.js';
import type { PackageResource } from '../../core/manifest/types.js';
import type { ArtifactChunks } from '../../core/plan/types.js';
import { ChunkIndex } from './chunks.js';
import { isSha256, type ContentStore, type PutResult } from './content-store.js';

export type Availability = { readonly available: true } | { readonly available: false; readonly reason: string };

/** What a repository file read gives: its bytes, a stream of them, or undefined when there is no such file. */
export type RepoFile = Readable | Uint8Array | undefined;

/** Reads a file of the manifest repository at the revision being ingested; `path` is already checked to stay inside it. */
export type ReadRepoFile = (path: string) => Promise<RepoFile>;

export interface ContentIngesterOptions {
  readonly content: ContentStore;
  /** Where URL downloads are written before they are stored (DATA/ingest); created when needed. */
  readonly tempDir: string;
  /** Artifacts fetched or read at once; default 4. */
  readonly concurrency?: number;
  /** How long a failed URL fetch is remembered before it is tried again; default 5 minutes. */
  readonly retryUrlAfterMs?: number;
  /** Passed to the downloader (tests shorten retries and timeouts; `env`: where proxy variables are read, default process.env). */
  readonly download?: Pick<DownloadOptions, 'maxRetries' | 'baseDelayMs' | 'maxDelayMs' | 'timeoutMs' | 'maxRetryAfterMs' | 'env'>;
  /** When a failed URL fetch was remembered, and the downloader's retry waits; default the system clock. */
  readonly clock?: Clock;
  /**
   * How long one ingest waits for a URL fetch; default 2 s. A longer fetch goes on in the
   * background and the artifact counts as unavailable ("being fetched") until it is stored, so a
   * slow download does not hold up the revision's other plans.
   */
  readonly fetchWaitMs?: number;
}

/** A URL fetch under way; `later` is told when one that outlived its ingest ends. */
interface Fetch {
  readonly key: string;
  readonly since: number;
  readonly result: Promise<Availability>;
  later?: (sha256: string) => void;
}

/** One artifact as the packages of a revision name it. */
interface Wanted {
  readonly sha256: string;
  readonly size: number;
  readonly source: string | undefined;
}

interface Remembered {
  readonly key: string;
  readonly result: Availability;
  readonly at: number;
}

const notPushed = 'not in the content store; push it with `ferry package push FILE`';

/**
 * Ingests the artifacts of each revision. Results are remembered per artifact (sha256, size and
 * source): an artifact already stored costs one `stat`; a URL that failed is not fetched again
 * for `retryUrlAfterMs`; a repository file that failed is read again only at another revision.
 */
export class ContentIngester {
  private readonly remembered = new Map<string, Remembered>();
  /** URL fetches under way, by sha256. */
  private readonly fetching = new Map<string, Fetch>();
  private readonly clock: Clock;
  private readonly chunkIndex: ChunkIndex;

  constructor(private readonly options: ContentIngesterOptions) {
    this.clock = options.clock ?? systemClock;
    this.chunkIndex = new ChunkIndex(options.content);
  }

  /** The per-chunk sha256s of a stored artifact (computed on first use, then kept beside it); undefined when it is not stored. */
  chunks(sha256: string, size: number): Promise<ArtifactChunks | undefined> {
    return this.chunkIndex.get(sha256, size);
  }

  /**
   * The availability of every artifact the packages name, by sha256. Never throws for a bad or
   * missing artifact (that is a result); rejects only when the content store itself fails. A URL
   * fetch that takes longer than `fetchWaitMs` is reported unavailable and goes on; `later(sha256)`
   * is called when it ends, so the caller can ingest again.
   */
  async ingest(packages: Iterable<PackageResource>, readRepoFile: ReadRepoFile, revision: string, later?: (sha256: string) => void): Promise<Map<string, Availability>> {
    const wanted = collect(packages);
    const results = new Map<string, Availability>();
    const queue = [...wanted.values()];
    const worker = async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        results.set(item.sha256, await this.one(item, readRepoFile, revision, later));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.options.concurrency ?? 4, queue.length)) }, worker));
    for (const sha of this.remembered.keys()) if (!wanted.has(sha)) this.remembered.delete(sha);
    return new Map([...results].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Forgets what is remembered about one artifact (it was pushed): the next ingest checks it again. */
  forget(sha256: string): void {
    this.remembered.delete(sha256);
  }

  private async one(item: Wanted, readRepoFile: ReadRepoFile, revision: string, later?: (sha256: string) => void): Promise<Availability> {
    if (!isSha256(item.sha256)) return unavailable(`${JSON.stringify(item.sha256)} is not a sha256 digest`);
    const stored = await this.options.content.stat(item.sha256);
    if (stored) {
      if (stored.size === item.size) return { available: true };
      return unavailable(`the content store holds ${short(item.sha256)} with ${stored.size} bytes, but the manifest says size ${item.size}`);
    }
    if (item.source === undefined) return unavailable(notPushed);
    const url = isUrl(item.source);
    const key = `${item.size}\0${item.source}\0${url ? '' : revision}`;
    const before = this.remembered.get(item.sha256);
    const retryAfter = this.options.retryUrlAfterMs ?? 5 * 60_000;
    if (before && before.key === key && !before.result.available && this.clock.now() - before.at < retryAfter) return before.result;
    if (url) return this.fetch(item, key, later);
    const result = await this.fromRepo(item, readRepoFile);
    this.remembered.set(item.sha256, { key, result, at: this.clock.now() });
    return result;
  }

  /** The URL fetch of `item` (joining one under way), or "being fetched" once `fetchWaitMs` has passed. */
  private async fetch(item: Wanted, key: string, later?: (sha256: string) => void): Promise<Availability> {
    let f = this.fetching.get(item.sha256);
    if (f === undefined || f.key !== key) {
      const result = this.fromUrl(item).then(
        (done) => {
          this.remembered.set(item.sha256, { key, result: done, at: this.clock.now() });
          return done;
        },
        (err: unknown) => unavailable(`${item.source}: cannot store it (${message(err)})`),
      );
      const started: Fetch = { key, since: this.clock.now(), result };
      void result.then(() => {
        if (this.fetching.get(item.sha256) === started) this.fetching.delete(item.sha256);
        started.later?.(item.sha256);
      });
      this.fetching.set(item.sha256, started);
      f = started;
    }
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([f.result, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.options.fetchWaitMs ?? 2_000)))]);
    clearTimeout(timer);
    if (waited !== undefined) return waited;
    if (later !== undefined) f.later = later;
    return unavailable(`${item.source}: being fetched (since ${new Date(f.since).toISOString()}); installs of it wait until it is stored`);
  }

  private async fromRepo(item: Wanted, readRepoFile: ReadRepoFile): Promise<Availability> {
    const path = item.source!;
    const refused = checkRepoPath(path);
    if (refused) return unavailable(`${path}: ${refused}`);
    let file: RepoFile;
    try {
      file = await readRepoFile(normalise(path));
    } catch (err) {
      return unavailable(`${path}: cannot read it from the repository (${message(err)})`);
    }
    if (file === undefined) return unavailable(`${path} is not in the manifest repository at this revision`);
    let put: PutResult;
    try {
      put = await this.options.content.put(file instanceof Uint8Array ? [file] : file, item.sha256, { expectedSize: item.size });
    } catch (err) {
      if (file instanceof Readable) file.destroy();
      // Storing failed, not reading: say which (a full disk is retried on the next pass).
      if (isStorageFull(err)) return unavailable(`${path}: ${message(err)} (free space in the content store)`);
      return unavailable(`${path}: cannot read it from the repository (${message(err)})`);
    }
    return put.ok ? { available: true } : unavailable(mismatch(path, put));
  }

  private async fromUrl(item: Wanted): Promise<Availability> {
    const url = item.source!;
    await mkdir(this.options.tempDir, { recursive: true });
    const dest = join(this.options.tempDir, `${item.sha256}-${randomBytes(6).toString('hex')}`);
    try {
      const got = await download({
        sources: [{ name: url, url }],
        sha256: item.sha256,
        size: item.size,
        dest,
        maxRetries: 2,
        clock: this.clock,
        ...this.options.download,
      });
      if (!got.ok) {
        const last = got.attempts.at(-1);
        return unavailable(`${url}: ${last ? describeAttempt(last.error, item) : got.message}`);
      }
      const put = await this.options.content.put(createReadStream(dest), item.sha256, { expectedSize: item.size });
      return put.ok ? { available: true } : unavailable(mismatch(url, put));
    } finally {
      await rm(dest, { force: true });
      await rm(`${dest}.part`, { force: true });
    }
  }
}

/** Why a repository path is refused (absolute, `..`, empty), or undefined when it stays inside the repository. */
export function checkRepoPath(path: string): string | undefined {
  if (path.trim() === '') return 'the source path is empty';
  if (path.includes('\0')) return 'the source path holds a NUL character';
  if (posix.isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.startsWith('\\')) return 'the source must be a path inside the manifest repository, not an absolute path';
  if (path.split(/[\\/]+/).some((p) => p === '..')) return 'the source must stay inside the manifest repository (no `..`)';
  if (normalise(path) === '') return 'the source path names the repository itself, not a file';
  return undefined;
}

/** `a//b/./c` → `a/b/c`. */
function normalise(path: string): string {
  return path
    .split(/[\\/]+/)
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

function collect(packages: Iterable<PackageResource>): Map<string, Wanted> {
  const bySha = new Map<string, Wanted>();
  for (const p of packages) {
    const a = p.spec.artifact;
    const before = bySha.get(a.sha256);
    // One sha256 named twice: a package with a source is worth more than one without.
    if (before === undefined || (before.source === undefined && a.source !== undefined)) {
      bySha.set(a.sha256, { sha256: a.sha256, size: a.size, source: a.source });
    }
  }
  return bySha;
}

function mismatch(where: string, put: Extract<PutResult, { ok: false }>): string {
  if (put.error === 'sha256-mismatch') return `${where} has sha256 ${short(put.actualSha256 ?? '?')} but the manifest says ${short(put.expectedSha256)}`;
  if (put.size > (put.expectedSize ?? Number.POSITIVE_INFINITY)) return `${where} has more than ${put.expectedSize} bytes, but the manifest says size ${put.expectedSize}`;
  return `${where} has ${put.size} bytes, but the manifest says size ${put.expectedSize}`;
}

/** The downloader's words, made to read as the manifest's fault where they are. */
function describeAttempt(error: string, item: Wanted): string {
  const sha = /^sha256 mismatch: expected (\S+) got (\S+)$/.exec(error);
  if (sha) return `has sha256 ${short(sha[2]!)} but the manifest says ${short(sha[1]!)}`;
  const size = /^source has (\d+) bytes, expected (\d+)$/.exec(error);
  if (size) return `has ${size[1]} bytes, but the manifest says size ${item.size}`;
  return error;
}

/** The first 12 hex digits and an ellipsis: enough to tell digests apart in a message. */
function short(sha: string): string {
  return sha.length > 12 ? `${sha.slice(0, 12)}…` : sha;
}

function unavailable(reason: string): Availability {
  return { available: false, reason };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
