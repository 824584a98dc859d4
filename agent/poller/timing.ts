/** When to poll next: the interval ±20% jitter (after failures, lib/backoff.ts's Backoff). */

/** `intervalMs` spread uniformly over ±20%, so a fleet does not poll in step. */
export function jitteredInterval(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (0.8 + 0.4 * random()));
}
