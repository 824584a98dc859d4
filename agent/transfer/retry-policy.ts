/**
 * When a failed transfer is worth retrying, and how long to wait (actions/toolkit habits):
 * only network errors, 5xx, 408 and 429 are retried; delays are exponential with full jitter,
 * and a server's `Retry-After` wins over the computed delay.
 */

/** True for the HTTP statuses a retry can cure: 5xx, 408 Request Timeout, 429 Too Many Requests. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export interface BackoffOptions {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Uniform in [0, 1); `Math.random` unless a test fixes it. */
  readonly random: () => number;
}

/** Full jitter: a uniform delay in [0, min(max, base·2^retry)); `retry` counts from 0. */
export function backoffDelay(retry: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.floor(options.random() * ceiling);
}

/** Milliseconds a `Retry-After` header asks for (delta-seconds or an HTTP date), or undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
