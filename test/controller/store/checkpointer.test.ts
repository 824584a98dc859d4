import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'chai';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Checkpointer } from '../../../controller/store/checkpointer.js';
import type { CheckpointReply } from '../../../controller/store/checkpoint-worker.js';

describe('controller/store checkpointer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-checkpointer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('copies the WAL into the database on its own thread; the writing connection never checkpoints', async () => {
    const file = join(dir, 'f.db');
    const db = new BetterSqlite3(file);
    db.pragma('journal_mode = WAL');
    const replies: CheckpointReply[] = [];
    let done: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const checkpointer = new Checkpointer(db, file, {
      everyMs: 5,
      onCheckpoint: (r) => {
        replies.push(r);
        if (r.checkpointed === r.log) done();
      },
    });
    try {
      expect(db.pragma('wal_autocheckpoint', { simple: true })).to.equal(0);
      db.exec('create table t (x text)');
      const insert = db.prepare('insert into t values (?)');
      // 3 MiB in 3,000 commits: by default SQLite's commits would have checkpointed (at 1,000 pages).
      for (let i = 0; i < 3000; i++) insert.run('x'.repeat(1024));
      await all;
      expect(replies.at(-1)!.log).to.be.greaterThan(750);
      expect((await stat(file)).size).to.be.greaterThan(3 * 1024 * 1024);
      expect(db.prepare('select count(*) as n from t').get()).to.deep.equal({ n: 3000 });
    } finally {
      await checkpointer.close();
      db.close();
    }
  });

  it('hands checkpointing back to the connection when its worker exits', async () => {
    const file = join(dir, 'f.db');
    const db = new BetterSqlite3(file);
    db.pragma('journal_mode = WAL');
    const checkpointer = new Checkpointer(db, file, { everyMs: 60_000 });
    const worker = (checkpointer as unknown as { worker: import('node:worker_threads').Worker }).worker;
    await worker.terminate();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).to.equal(1000);
    await checkpointer.close();
    db.close();
  });
});
