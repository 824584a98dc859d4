/**
 * WAL checkpoints off the event loop (SQLite only). By default SQLite checkpoints inside the
 * commit that grows the WAL past 1,000 pages: the committing thread — here the controller's one
 * thread — copies those pages into the database and fsyncs it, at 100,000 hosts several seconds of
 * a first reconcile and about 1 s of a pass that changes 10% of the plans, while polls wait. Here
 * the controller's connection never checkpoints (`wal_autocheckpoint = 0`); a worker thread with
 * its own connection does, every `everyMs`, without blocking writers or readers (PASSIVE). A
 * page rewritten by several commits between two rounds is copied once. Durability is SQLite's
 * (a commit is in the WAL either way). Should the worker die, the connection checkpoints itself
 * again as by default.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../lib/module-worker.js';
import type { CheckpointReply } from './checkpoint-worker.js';

/** SQLite's default `wal_autocheckpoint`, restored should the worker fail. */
const defaultAutocheckpoint = 1000;

export interface CheckpointerOptions {
  /** How often the worker checkpoints; default 1 s. */
  readonly everyMs?: number;
  /** Told what each checkpoint that found frames in the WAL did (tests). */
  readonly onCheckpoint?: (reply: CheckpointReply) => void;
}

export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<unknown>;
  private closing = false;

  /** Starts checkpointing `file` (in WAL mode) for `database`, a connection to it. */
  constructor(database: BetterSqlite3.Database, file: string, options: CheckpointerOptions = {}) {
    database.pragma('wal_autocheckpoint = 0');
    this.worker = startModuleWorker(import.meta.url, './checkpoint-worker', { workerData: { file, everyMs: options.everyMs ?? 1000 } });
    const fallBack = () => {
      if (!this.closing && database.open) database.pragma(`wal_autocheckpoint = ${defaultAutocheckpoint}`);
    };
    this.worker.on('error', fallBack);
    this.worker.on('exit', fallBack);
    this.exited = once(this.worker, 'exit');
    if (options.onCheckpoint) this.worker.on('message', options.onCheckpoint);
    this.worker.unref();
  }

  /** Stops the worker, closing its connection (call before or after the other connection closes). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.worker.ref(); // else the process may end before the worker has closed its connection
    this.worker.postMessage('close');
    await this.exited;
  }
}
