/** A host's "last seen" from its polls, written to the store at most once a minute per host. */
import type { ApiStore } from './store-port.js';

export class SeenRecorder {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly store: Pick<ApiStore, 'markSeen'>,
    private readonly everyMs = 60_000,
    private readonly maxEntries = 200_000,
  ) {}

  /** True when `record(host, …)` would write now. */
  due(host: string, nowMs: number): boolean {
    const before = this.last.get(host);
    return before === undefined || nowMs - before >= this.everyMs;
  }

  /** Notes that the caller already wrote `host`'s last-seen time at `now` (e.g. with its inventory). */
  noteWritten(host: string, now: Date): void {
    if (this.last.size > this.maxEntries) this.last.clear();
    this.last.set(host, now.getTime());
  }

  /**
   * Records that `host` was heard from: undefined when it was recorded less than `everyMs` ago
   * (nothing to wait for), else the store write. `force` writes regardless (inventory, reports).
   */
  record(host: string, now: Date, force = false): Promise<void> | undefined {
    if (!force && !this.due(host, now.getTime())) return undefined;
    if (this.last.size > this.maxEntries) this.last.clear();
    this.last.set(host, now.getTime());
    return this.store.markSeen(host, now).catch((e: unknown) => {
      this.last.delete(host); // the next poll tries again
      throw e;
    });
  }
}
