/**
 * Schedule → concrete UTC windows (DESIGN §2: agents need no calendar logic). Cron ticks come from
 * cron-parser evaluated in the schedule's zone (DST-correct), `start` times without an offset are
 * read in that zone by luxon. `timezone: host` uses the host's reported zone, UTC when it has none.
 */
import { CronExpressionParser } from 'cron-parser';
import { DateTime, IANAZone } from 'luxon';
import type { ScheduleResource, ScheduleWindow } from '../manifest/types.js';
import type { TimeWindow } from '../plan/types.js';

const DAY_MS = 86_400_000;

/** The zone a schedule is read in for one host. */
export function scheduleZone(schedule: ScheduleResource, hostZone: string | undefined): string {
  if (schedule.spec.timezone === 'host') return hostZone !== undefined && isZone(hostZone) ? hostZone : 'UTC';
  return schedule.spec.timezone;
}

function isZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/** Start of the UTC day containing an RFC 3339 instant, as RFC 3339. */
export function utcDayStart(now: string): string {
  const ms = Date.parse(now);
  if (Number.isNaN(ms)) throw new RangeError(`not an RFC 3339 time: ${now}`);
  return iso(ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS));
}

/**
 * Windows that are open at some point in [from, from + days), sorted, overlapping ones merged.
 * A window that opened before `from` and is still open is kept whole.
 */
export function expandSchedule(schedule: ScheduleResource, hostZone: string | undefined, from: string, days: number): TimeWindow[] {
  const zone = scheduleZone(schedule, hostZone);
  const fromMs = Date.parse(from);
  const toMs = fromMs + days * DAY_MS;
  const raw: [number, number][] = [];
  for (const w of schedule.spec.windows) raw.push(...expandWindow(w, zone, fromMs, toMs));
  return merge(raw).map(([s, e]) => ({ start: iso(s), end: iso(e) }));
}

function expandWindow(w: ScheduleWindow, zone: string, fromMs: number, toMs: number): [number, number][] {
  if ('cron' in w) {
    const out: [number, number][] = [];
    let it: ReturnType<typeof CronExpressionParser.parse>;
    try {
      it = CronExpressionParser.parse(w.cron, { currentDate: new Date(fromMs - w.durationMs - 1000), tz: zone });
    } catch {
      return []; // validation reports bad cron expressions; nothing opens here
    }
    for (let n = 0; n < 10_000; n++) {
      let tick: number;
      try {
        tick = it.next().getTime();
      } catch {
        break;
      }
      if (tick >= toMs) break;
      if (tick + w.durationMs > fromMs) out.push([tick, tick + w.durationMs]);
    }
    return out;
  }
  const start = DateTime.fromISO(w.start, { zone, setZone: false });
  if (!start.isValid) return [];
  const s = start.toMillis();
  const e = s + w.durationMs;
  return e > fromMs && s < toMs ? [[s, e]] : [];
}

function merge(windows: [number, number][]): [number, number][] {
  windows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const w of windows) {
    const last = out[out.length - 1];
    if (last !== undefined && w[0] <= last[1]) last[1] = Math.max(last[1], w[1]);
    else out.push([w[0], w[1]]);
  }
  return out;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
