/**
 * The relay's content cache (issue 11): artifacts by sha256 in `DIR/{sha256}`, fetched from
 * upstream once however many hosts ask (concurrent requests share one transfer), readable while
 * the transfer is under way, bounded in bytes with LRU eviction.
 *
 * Contract of a partial read: bytes below the transfer's high-water mark may be read at once; the
 * artifact's LAST byte becomes readable only once the whole artifact passed its sha256 check. So
 * a response that reaches the end of the artifact (every 200, every 206 ending at the last byte)
 * cannot complete with unverified bytes: if verification fails, the entry fails and every reader
 * still open is ended with an error. A 206 for an inner range may complete with bytes not yet
 * verified — the agent verifies the whole artifact itself before using any of it (DESIGN §5).
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkContent, download, type DownloadResult, markVerified } from './transfer.js';
import type { Clock } from '../../lib/clock.js';

export interface ContentCacheOptions {
  readonly dir: string;
  /** `--cache-size`: the bytes of complete and in-flight artifacts kept. */
  readonly maxBytes: number;
  /** Upstream base URL (the controller or a parent relay). */
  readonly upstream: string;
  /** Artifacts a served host's current plan still needs: evicted only when nothing else can go. */
  readonly pinned?: () => ReadonlySet<string>;
  /** Upstream bytes received, as they arrive. */
  readonly onFetched?: (bytes: number) => void;
  readonly signal?: AbortSignal;
  readonly clock: Clock;
}

export type EntryState = 'fetching' | 'complete' | 'failed';

/** One artifact in the cache; readers wait on it without polling. */
export class CacheEntry {
  state: EntryState;
  /** Bytes on the partial file (fetching) or the whole size (complete). */
  highWater: number;
  /** Bumped when the transfer restarted from byte 0: readers that sent earlier bytes must stop. */
  generation = 0;
  readers = 0;
  lastUsed: number;
  failure: string | undefined;
  /** Settles once a complete entry from an earlier run was checked (hashed again unless verified this boot). */
  checked: Promise<boolean> | undefined;
  private waiters = new Set<() => void>();

  constructor(
    readonly sha256: string,
    readonly size: number,
    readonly path: string,
    state: EntryState,
    lastUsed: number,
  ) {
    this.state = state;
    this.highWater = state === 'complete' ? size : 0;
    this.lastUsed = lastUsed;
  }

  /** Bytes that may be served: everything once verified; before that, all but the last byte. */
  readableEnd(): number {
    return this.state === 'complete' ? this.size : Math.min(this.highWater, this.size - 1);
  }

  /** Resolves once byte `pos` is readable; rejects when the transfer failed. */
  readable(pos: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.state === 'failed') {
          reject(new Error(`upstream transfer of ${this.sha256} failed: ${this.failure ?? 'unknown'}`));
          return true;
        }
        if (this.readableEnd() > pos) {
          resolve();
          return true;
        }
        return false;
      };
      if (check()) return;
      const waiter = () => {
        if (check()) this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  /** Path to read from now: the partial file while fetching, the final file once complete. */
  readPath(): string {
    return this.state === 'complete' ? this.path : `${this.path}.part`;
  }

  progress(bytes: number): void {
    if (bytes < this.highWater) this.generation++;
    this.highWater = bytes;
    this.notify();
  }

  settle(state: 'complete' | 'failed', failure?: string): void {
    this.state = state;
    this.failure = failure;
    if (state === 'complete') this.highWater = this.size;
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

export type StartResult = { readonly kind: 'entry'; readonly entry: CacheEntry; readonly fresh: boolean } | { readonly kind: 'full'; readonly message: string };

export class ContentCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly transfers = new Set<Promise<void>>();

  private constructor(private readonly o: ContentCacheOptions) {}

  /** Opens the cache directory; complete artifacts from an earlier run are kept (and checked before first use). */
  static async open(o: ContentCacheOptions): Promise<ContentCache> {
    const cache = new ContentCache(o);
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(o.dir)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const s = await stat(join(o.dir, name)).catch(() => undefined);
      if (!s?.isFile()) continue;
      const entry = new CacheEntry(name, s.size, join(o.dir, name), 'complete', s.mtimeMs);
      entry.checked = checkContent(entry.path, name, s.size).then((c) => c === 'trusted' || c === 'reverified');
      cache.entries.set(name, entry);
    }
    return cache;
  }

  /** The entry for `sha256` (complete or being fetched), if the cache has one; marks it used. */
  async lookup(sha256: string): Promise<CacheEntry | undefined> {
    const entry = this.entries.get(sha256);
    if (!entry) return undefined;
    entry.lastUsed = this.o.clock.now();
    if (entry.checked && !(await entry.checked)) {
      if (this.entries.get(sha256) === entry) this.entries.delete(sha256);
      return undefined;
    }
    return entry;
  }

  /**
   * The entry for `sha256`, starting its one upstream transfer if none is under way: with each of
   * `authorizations` in turn (the relay's own credential, then the asking host's) until upstream
   * accepts one. `full` when the cache cannot make room.
   */
  start(sha256: string, size: number, authorizations: readonly string[]): StartResult {
    return this.begin(sha256, size, authorizations, true);
  }

  /**
   * Starts fetching `sha256` before any host asked (prefetch in a distribution window), unless it
   * is cached or under way already. Makes room only from artifacts no served plan needs: `full`
   * rather than evicting what a served host will ask for.
   */
  prefetch(sha256: string, size: number, authorization: string): StartResult {
    return this.begin(sha256, size, [authorization], false);
  }

  private begin(sha256: string, size: number, authorizations: readonly string[], evictPinned: boolean): StartResult {
    const existing = this.entries.get(sha256);
    if (existing && existing.state !== 'failed') return { kind: 'entry', entry: existing, fresh: false };
    if (!this.makeRoom(size, evictPinned)) {
      return {
        kind: 'full',
        message: `the relay cache (--cache-size ${this.o.maxBytes} bytes) has no room for ${size} bytes now: the artifacts in it are in use; fetch from the next source`,
      };
    }
    const entry = new CacheEntry(sha256, size, join(this.o.dir, sha256), 'fetching', this.o.clock.now());
    this.entries.set(sha256, entry);
    const run = this.fetch(entry, authorizations).finally(() => this.transfers.delete(run));
    this.transfers.add(run);
    return { kind: 'entry', entry, fresh: true };
  }

  /** Bytes held by complete and in-flight artifacts. */
  usedBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.state !== 'failed') n += e.size;
    return n;
  }

  /** Complete artifacts, for metrics and tests. */
  completeCount(): number {
    return [...this.entries.values()].filter((e) => e.state === 'complete').length;
  }

  /** Waits for every transfer under way to settle (after aborting the signal: they stop). */
  async idle(): Promise<void> {
    while (this.transfers.size > 0) await Promise.allSettled([...this.transfers]);
  }

  private async fetch(entry: CacheEntry, authorizations: readonly string[]): Promise<void> {
    let last = 0;
    let result: DownloadResult;
    const url = `${this.o.upstream.replace(/\/+$/, '')}/v1/content/${entry.sha256}`;
    const sources =
      authorizations.length === 0 ? [{ name: 'upstream', url }] : authorizations.map((authorization, i) => ({ name: `upstream#${i}`, url, headers: { authorization } }));
    try {
      result = await download({
        sources,
        sha256: entry.sha256,
        size: entry.size,
        dest: entry.path,
        ...(this.o.signal ? { signal: this.o.signal } : {}),
        onProgress: (done) => {
          if (done > last) this.o.onFetched?.(done - last);
          last = done;
          entry.progress(done);
        },
      });
    } catch (e) {
      result = { ok: false, reason: 'local-error', message: (e as Error).message, bytesDone: 0, bytesFetched: 0, attempts: [] };
    }
    if (result.ok) {
      await markVerified(entry.path).catch(() => undefined);
      entry.settle('complete');
    } else {
      if (this.entries.get(entry.sha256) === entry) this.entries.delete(entry.sha256);
      entry.settle('failed', result.message);
    }
  }

  /**
   * Evicts complete artifacts nobody is reading, least recently used first, until `size` more
   * fits: first those no served host's plan needs; those only when nothing else is left (a site
   * whose plans need more than the cache holds must still make progress) and `evictPinned`.
   */
  private makeRoom(size: number, evictPinned: boolean): boolean {
    let used = this.usedBytes();
    if (used + size <= this.o.maxBytes) return true;
    const pinned = this.o.pinned?.() ?? new Set<string>();
    const candidates = [...this.entries.values()]
      .filter((e) => e.state === 'complete' && e.readers === 0 && (evictPinned || !pinned.has(e.sha256)))
      .sort((a, b) => Number(pinned.has(a.sha256)) - Number(pinned.has(b.sha256)) || a.lastUsed - b.lastUsed);
    for (const e of candidates) {
      if (used + size <= this.o.maxBytes) break;
      this.entries.delete(e.sha256);
      used -= e.size;
      void rm(e.path, { force: true }).then(() => rm(`${e.path}.verified`, { force: true }));
    }
    return used + size <= this.o.maxBytes;
  }
}
