/**
 * Which failed transfers are worth retrying (actions/toolkit habits): only network errors, 5xx,
 * 408 and 429. How long to wait is lib/backoff.ts's job (full jitter; `Retry-After` wins).
 */

/** True for the HTTP statuses a retry can cure: 5xx, 408 Request Timeout, 429 Too Many Requests. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
