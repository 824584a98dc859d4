import { expect } from 'chai';
import type { ScheduleSpec } from '../../../core/manifest/types.js';
import type { TimeWindow } from '../../../core/plan/types.js';
import { expandSchedule } from '../../../core/schedules/index.js';
import { schedule } from '../planner/fixtures.js';

const H = 3_600_000;

/** A schedule of one cron window of `durationMs` in `timezone`. */
const cronSpec = (timezone: string, cron: string, durationMs: number): ScheduleSpec => ({ timezone, windows: [{ cron, durationMs }] });

/** Expected windows, written as [start, end] pairs. */
const windows = (...pairs: [string, string][]): TimeWindow[] => pairs.map(([start, end]) => ({ start, end }));

const cases: { name: string; spec: ScheduleSpec; hostZone?: string; from: string; days: number; windows: TimeWindow[] }[] = [
  {
    name: 'Berlin 22:00 is 21:00Z in winter and 20:00Z in summer (last Sunday of March)',
    spec: cronSpec('Europe/Berlin', '0 22 * * *', H),
    from: '2026-03-28T00:00:00Z',
    days: 2,
    windows: windows(['2026-03-28T21:00:00Z', '2026-03-28T22:00:00Z'], ['2026-03-29T20:00:00Z', '2026-03-29T21:00:00Z']),
  },
  {
    name: 'Berlin 22:00 back to 21:00Z after the last Sunday of October',
    spec: cronSpec('Europe/Berlin', '0 22 * * *', H),
    from: '2026-10-24T00:00:00Z',
    days: 2,
    windows: windows(['2026-10-24T20:00:00Z', '2026-10-24T21:00:00Z'], ['2026-10-25T21:00:00Z', '2026-10-25T22:00:00Z']),
  },
  {
    name: 'timezone: host uses the host zone',
    spec: cronSpec('host', '0 12 * * *', H),
    hostZone: 'Asia/Tokyo',
    from: '2026-12-01T00:00:00Z',
    days: 1,
    windows: windows(['2026-12-01T03:00:00Z', '2026-12-01T04:00:00Z']),
  },
  {
    name: 'timezone: host without a reported zone reads UTC',
    spec: cronSpec('host', '0 12 * * *', H),
    from: '2026-12-01T00:00:00Z',
    days: 1,
    windows: windows(['2026-12-01T12:00:00Z', '2026-12-01T13:00:00Z']),
  },
  {
    name: 'a window open at the day start is kept whole; weekdays only',
    spec: cronSpec('Asia/Tokyo', '0 22 * * 1-5', 6 * H),
    from: '2026-12-04T00:00:00Z',
    days: 3, // Fri..Sun UTC; Thu 22:00 JST = Thu 13:00Z ends 19:00Z (before) — Fri 22:00 JST = Fri 13:00Z
    windows: windows(['2026-12-04T13:00:00Z', '2026-12-04T19:00:00Z']),
  },
  {
    name: 'a window that started the day before and is still open',
    spec: cronSpec('UTC', '0 22 * * *', 6 * H),
    from: '2026-12-01T00:00:00Z',
    days: 1,
    windows: windows(['2026-11-30T22:00:00Z', '2026-12-01T04:00:00Z'], ['2026-12-01T22:00:00Z', '2026-12-02T04:00:00Z']),
  },
  {
    name: 'start without offset is read in the schedule zone; overlapping windows merge',
    spec: {
      timezone: 'Asia/Tokyo',
      windows: [
        { start: '2026-12-24T20:00:00', durationMs: 2 * H },
        { start: '2026-12-24T21:00:00+09:00', durationMs: 2 * H },
      ],
    },
    from: '2026-12-24T00:00:00Z',
    days: 1,
    windows: windows(['2026-12-24T11:00:00Z', '2026-12-24T14:00:00Z']),
  },
  {
    name: 'windows outside the range are dropped',
    spec: { timezone: 'UTC', windows: [{ start: '2026-01-01T00:00:00Z', durationMs: H }] },
    from: '2026-12-01T00:00:00Z',
    days: 7,
    windows: windows(),
  },
];

describe('core/schedules expandSchedule', () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(expandSchedule(schedule('s', c.spec), c.hostZone, c.from, c.days)).to.deep.equal(c.windows);
    });
  }
});
