/**
 * What GitSource and DirSource share: one fetch at a time (callers that arrive during
 * a fetch share the next one), a poll timer, backoff after failures, listeners.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ManifestFile } from '../../core/manifest/types.js';
import { Backoff } from '../../lib/backoff.js';
import type { Clock } from '../../lib/clock.js';
import type { ManifestSource, SnapshotListener, SourceCondition, SourceSnapshot, SourceStatus } from './source.js';

export interface PollingSourceOptions {
  /** Time between fetches when all is well. */
  readonly pollMs: number;
  /** Times of fetches and errors (`status()`); the poll timer itself is a plain timer. */
  readonly clock: Clock;
  readonly logger: Logger;
}

/** What one fetch found: a revision and, when it is new, its files. */
export interface Fetched {
  readonly revision: string;
  /** Called only when `revision` differs from the current snapshot's. */
  readonly files: () => Promise<readonly ManifestFile[]>;
}

interface FetchError {
  readonly message: string;
  readonly at: string;
  readonly failures: number;
  readonly nextAttemptAt: string;
}

export abstract class PollingSource implements ManifestSource {
  private snapshot: SourceSnapshot | undefined;
  private readonly listeners = new Set<SnapshotListener>();
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  /** Failed fetches in a row and the wait before the next: 1 s doubling up to the poll interval, full jitter, at least 250 ms. */
  private readonly backoff: Backoff;
  private error: FetchError | undefined;
  private lastFetchAt: string | undefined;
  private fetchFailuresTotal = 0;

  protected constructor(protected readonly options: PollingSourceOptions) {
    this.backoff = new Backoff({ baseMs: 1000, maxMs: Math.max(options.pollMs, 1000), minMs: 250 });
  }

  /** Fetches once; throws with a message that says what is wrong. */
  protected abstract fetch(): Promise<Fetched>;
  protected abstract describe(): Pick<SourceStatus, 'kind' | 'url' | 'branch' | 'path'>;
  abstract readFile(revision: string, path: string): Promise<Readable | Uint8Array | undefined>;
  /** Prepares the source (clone, watch); failures here are retried by the poll loop. */
  protected async open(): Promise<void> {}
  protected async close(): Promise<void> {}

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.queued?.catch(() => undefined);
    await this.inFlight?.catch(() => undefined);
    await this.close();
  }

  current(): SourceSnapshot | undefined {
    return this.snapshot;
  }

  onSnapshot(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.inFlight) {
      this.inFlight = this.runOnce().finally(() => {
        this.inFlight = undefined;
      });
      return this.inFlight;
    }
    this.queued ??= this.inFlight.then(() => {
      this.queued = undefined;
      return this.refresh();
    });
    return this.queued;
  }

  status(): SourceStatus {
    return {
      ...this.describe(),
      ready: this.snapshot !== undefined,
      condition: this.condition(),
      ...(this.snapshot ? { revision: this.snapshot.revision } : {}),
      ...(this.lastFetchAt ? { lastFetchAt: this.lastFetchAt, lastSuccessAt: this.lastFetchAt } : {}),
      fetchFailuresTotal: this.fetchFailuresTotal,
      ...(this.error ? { error: this.error } : {}),
    };
  }

  private condition(): SourceCondition {
    if (this.error) {
      const serving = this.snapshot ? `; the last good revision ${this.snapshot.revision} still serves` : '; no revision has been read yet';
      return { type: 'Ready', status: 'False', reason: 'FetchFailed', message: `${this.error.message}${serving}` };
    }
    if (this.snapshot) return { type: 'Ready', status: 'True', reason: 'Succeeded', message: `fetched ${this.snapshot.revision}` };
    return { type: 'Ready', status: 'Unknown', reason: 'WaitingForSource', message: 'no fetch has finished yet' };
  }

  private opened = false;

  private async runOnce(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const { clock, logger, pollMs } = this.options;
    let delay = pollMs;
    try {
      if (!this.opened) {
        await this.open();
        this.opened = true;
      }
      const fetched = await this.fetch();
      this.lastFetchAt = new Date(clock.now()).toISOString();
      if (this.error) logger.info({ revision: fetched.revision }, 'source: fetching works again');
      this.backoff.reset();
      this.error = undefined;
      if (fetched.revision !== this.snapshot?.revision) {
        const files = await fetched.files();
        const snapshot: SourceSnapshot = Object.freeze({
          revision: fetched.revision,
          files: Object.freeze([...files]),
          fetchedAt: this.lastFetchAt,
        });
        this.snapshot = snapshot;
        logger.info({ revision: snapshot.revision, files: files.length }, 'source: new revision');
        this.emit(snapshot);
      }
    } catch (err) {
      delay = this.backoff.next();
      this.fetchFailuresTotal++;
      const now = clock.now();
      const message = err instanceof Error ? err.message.trim() : String(err);
      this.error = {
        message,
        at: new Date(now).toISOString(),
        failures: this.backoff.count,
        nextAttemptAt: new Date(now + delay).toISOString(),
      };
      logger.warn({ err: message, failures: this.backoff.count, retryInMs: delay, ...this.describe() }, 'source: fetch failed');
    } finally {
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.refresh(), delay);
        this.timer.unref();
      }
    }
  }

  private emit(snapshot: SourceSnapshot): void {
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch (err) {
        this.options.logger.error({ err }, 'source: a snapshot listener threw');
      }
    }
  }
}
