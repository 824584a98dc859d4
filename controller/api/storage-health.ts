/**
 * Whether the store can write, for `/readyz`: a request that failed for want of space marks it
 * full; readiness then probes with a small write, and the first one that succeeds clears it
 * (space came back: no restart needed).
 */
import type { Clock } from '../../lib/clock.js';
import { isStorageFull } from '../../lib/storage-full.js';

export interface StorageFull {
  readonly since: string;
  readonly message: string;
}

export class StorageHealth {
  #full: StorageFull | undefined;

  constructor(
    /** A small write to the store; throws while it cannot write. */
    private readonly probe: () => Promise<void>,
    private readonly clock: Clock,
  ) {}

  /** Notes a write that failed for want of space. */
  noteFull(err: unknown): void {
    this.#full ??= { since: new Date(this.clock.now()).toISOString(), message: err instanceof Error ? err.message : String(err) };
  }

  /** Undefined when the store can write (probing again when it could not), else since when it cannot and why. */
  async check(): Promise<StorageFull | undefined> {
    if (this.#full === undefined) return undefined;
    try {
      await this.probe();
      this.#full = undefined;
    } catch (err) {
      if (!isStorageFull(err)) throw err;
    }
    return this.#full;
  }
}
