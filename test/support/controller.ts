import { join } from 'node:path';
import { pino } from 'pino';
import { startController, type ControllerOptions, type RunningController } from '../../controller/controller.js';
import { systemClock } from '../../lib/clock.js';

/** What a test gives: its data folder and a source (`dir` or `repo`); anything else overrides a default. */
export type TestControllerOptions = Partial<ControllerOptions> & { readonly data: string };

/**
 * The one way tests start a controller: SQLite in DATA, a free loopback port, branch `main`, an hourly
 * source poll, a silent log and the system clock — unless the test says otherwise.
 */
export function startTestController(options: TestControllerOptions): Promise<RunningController> {
  return startController({
    branch: 'main',
    db: `sqlite:${join(options.data, 'ferry.db')}`,
    listen: '127.0.0.1:0',
    pollMs: 3_600_000,
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    ...options,
  });
}
