// What the source tests share: a silent logger, the system clock, and a snapshot's files as text.
import { pino } from 'pino';
import type { SourceSnapshot } from '../../../controller/source/source.js';

export { systemClock as clock } from '../../../lib/clock.js';

export const logger = pino({ level: 'silent' });

/** A snapshot's files as path → UTF-8 text (none for no snapshot). */
export function texts(snapshot: SourceSnapshot | undefined): Record<string, string> {
  return Object.fromEntries((snapshot?.files ?? []).map((f) => [f.path, Buffer.from(f.content).toString('utf8')]));
}
