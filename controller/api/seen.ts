/**
 * A host's "last seen", kept in memory and written in batches: a poll never waits on the store.
 * Every `flushEveryMs` (and on `close()`) the hosts heard from since the last write are written in
 * one transaction (`Store.markSeenMany`). A crash loses at most that interval of "last seen" times,
 * never anything an agent was told is stored (inventories and reports carry their own).
 */
import type { ApiStore } from './store-port.js';

export class SeenRecorder {
  /**
   * Host → latest second heard from, not yet written, counted from `base`: a small integer, which V8
   * stores in the map as it is (a time in ms would be a new heap number per poll, referenced from the
   * long-lived map: work for every young-generation GC).
   */
  private dirty = new Map<string, number>();
  /** The first second noted (Unix time); `dirty` holds seconds relative to it. */
  private base: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: Pick<ApiStore, 'markSeenMany'>,
    private readonly flushEveryMs = 15_000,
  ) {}

  /**
   * Notes that `host` was heard from at `nowMs` (kept to the second); written with the next batch.
   * Pass a long-lived `host` string where there is one (the poll cache's): a new key is kept until the flush.
   */
  note(host: string, nowMs: number): void {
    // Whole seconds: hosts heard from in the same second are written by one statement.
    const second = Math.floor(nowMs / 1000);
    this.base ??= second;
    this.dirty.set(host, second - this.base);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush().catch(() => undefined);
      }, this.flushEveryMs);
      this.timer.unref();
    }
  }

  /** Hosts noted and not written yet. */
  pending(): number {
    return this.dirty.size;
  }

  /** Writes every pending time in one transaction; on failure they stay pending for the next one. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      try {
        while (this.dirty.size > 0) {
          const batch = this.dirty;
          this.dirty = new Map();
          try {
            const base = this.base ?? 0;
            await this.store.markSeenMany([...batch].map(([host, second]) => ({ host, at: new Date((base + second) * 1000) })));
          } catch (e) {
            for (const [host, at] of batch) if ((this.dirty.get(host) ?? -1) < at) this.dirty.set(host, at);
            throw e;
          }
        }
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  /** Stops the timer and writes what is pending. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
