/**
 * The one retry backoff (actions/toolkit habits): exponential with full jitter, capped, and a
 * server's `Retry-After` wins over the computed delay. Used by transfers, the agent's poll loop
 * and the controller's source polling.
 */

export interface BackoffOptions {
  /** The ceiling of the first retry's delay. */
  readonly baseMs: number;
  /** The ceiling of every delay. */
  readonly maxMs: number;
  /** The shortest delay ever returned (a floor against hot loops); default 0. */
  readonly minMs?: number;
  /** Uniform in [0, 1); `Math.random` unless a test fixes it. */
  readonly random?: () => number;
}

/** Full jitter: a uniform delay in [minMs, min(maxMs, baseMs·2^retry)); `retry` counts from 0. */
export function backoffDelay(retry: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(Math.max(0, retry), 30));
  const random = options.random ?? Math.random;
  return Math.max(options.minMs ?? 0, Math.floor(random() * ceiling));
}

/** Consecutive failures → the delay before the next try. */
export class Backoff {
  private failures = 0;
  constructor(private readonly options: BackoffOptions) {}

  /** The delay after one more failure; a server's Retry-After (capped at `maxMs`) wins when given. */
  next(retryAfterMs?: number): number {
    const retry = this.failures++;
    if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), this.options.maxMs);
    return backoffDelay(retry, this.options);
  }

  /** After a success: the next failure starts from `baseMs` again. */
  reset(): void {
    this.failures = 0;
  }

  /** Failures since the last reset. */
  get count(): number {
    return this.failures;
  }
}

/** Milliseconds a `Retry-After` header asks for (delta-seconds or an HTTP date), or undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
