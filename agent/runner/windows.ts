/** Whether a concrete time window list is open now (DESIGN §2: the controller expanded cron and zones already). */
import type { TimeWindow } from '../../core/plan/types.js';

/** Open: `closesAt` when the current window closes (absent: never). Closed: `opensAt` when the next one opens (absent: none ahead in the plan). */
export type WindowState = { readonly open: true; readonly closesAt?: number } | { readonly open: false; readonly opensAt?: string };

/**
 * `windows` absent means any time; present, only inside one of them (end exclusive).
 * `notBefore` holds everything back until it passes.
 */
export function windowState(windows: readonly TimeWindow[] | undefined, now: number, notBefore?: string): WindowState {
  const t = now;
  const from = notBefore !== undefined ? Date.parse(notBefore) : Number.NaN;
  if (!Number.isNaN(from) && t < from) {
    const next = windows === undefined ? from : firstStartAfter(windows, from);
    return next === undefined ? { open: false } : { open: false, opensAt: new Date(next).toISOString() };
  }
  if (windows === undefined) return { open: true };
  let opensAt: number | undefined;
  for (const w of windows) {
    const start = Date.parse(w.start);
    const end = Date.parse(w.end);
    if (start <= t && t < end) return { open: true, closesAt: end };
    if (start > t && (opensAt === undefined || start < opensAt)) opensAt = start;
  }
  return opensAt === undefined ? { open: false } : { open: false, opensAt: new Date(opensAt).toISOString() };
}

function firstStartAfter(windows: readonly TimeWindow[], t: number): number | undefined {
  let best: number | undefined;
  for (const w of windows) {
    const start = Date.parse(w.start);
    const end = Date.parse(w.end);
    const candidate = start >= t ? start : end > t ? t : undefined;
    if (candidate !== undefined && (best === undefined || candidate < best)) best = candidate;
  }
  return best;
}

/** `waiting` reason for a closed window. */
export function closedReason(what: string, state: WindowState): string {
  if (state.open) return '';
  return state.opensAt ? `${what} window opens at ${state.opensAt}` : `no ${what} window ahead in the plan`;
}
