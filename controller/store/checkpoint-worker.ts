/**
 * A checkpointing thread (started by checkpointer.ts; never imported for its values): its own
 * connection to the SQLite file copies the WAL's committed pages into the database every
 * `everyMs`, and closes on `'close'`.
 */
import BetterSqlite3 from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

/** What one checkpoint did: the WAL's frames, and how many of them are in the database now. */
export interface CheckpointReply {
  readonly log: number;
  readonly checkpointed: number;
}

const { file, everyMs } = workerData as { file: string; everyMs: number };
const db = new BetterSqlite3(file);
db.pragma('busy_timeout = 1000');

const timer = setInterval(() => {
  // PASSIVE: never waits for the writer or readers; what it cannot copy now, a later round does.
  const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
  if (row !== undefined && row.log > 0) parentPort!.postMessage({ log: row.log, checkpointed: row.checkpointed } satisfies CheckpointReply);
}, everyMs);

parentPort!.on('message', (message: unknown) => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
