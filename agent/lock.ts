/** One agent per DATA directory: `DATA/agent.pid`, taken over when its process is gone (after kill -9). */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processExists } from './executor/run-command.js';

export class DataLockedError extends Error {
  override readonly name = 'DataLockedError';
}

/** Takes the lock; throws DataLockedError when a live process holds it. Returns the release function. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, 'agent.pid');
  for (let tries = 0; tries < 3; tries++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        const owner = await readFile(file, 'utf8').catch(() => '');
        if (owner.trim() === String(process.pid)) await rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processExists(pid)) {
      throw new DataLockedError(`another ferry agent (pid ${pid}) is using ${dataDir}; stop it first or use another --data`);
    }
    await rm(file, { force: true });
  }
  throw new DataLockedError(`cannot take the lock ${file}`);
}
