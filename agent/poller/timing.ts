/** When to poll next: the interval ±20% jitter; after failures, exponential backoff with full jitter. */
import { backoffDelay } from '../../lib/backoff.js';

/** `intervalMs` spread uniformly over ±20%, so a fleet does not poll in step. */
export function jitteredInterval(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (0.8 + 0.4 * random()));
}

/** Consecutive failures → the delay before the next try (full jitter, capped by the poll interval or 5 min). */
export class Backoff {
  private failures = 0;
  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 300_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay after one more failure; a server's Retry-After wins when given. */
  next(retryAfterMs?: number): number {
    const retry = this.failures++;
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, this.maxMs);
    return Math.max(100, backoffDelay(retry, { baseMs: this.baseMs, maxMs: this.maxMs, random: this.random }));
  }

  reset(): void {
    this.failures = 0;
  }

  get count(): number {
    return this.failures;
  }
}
