/** The journal's tables, versioned with `PRAGMA user_version`; all pending steps run once, in one write transaction. */
import type Database from 'better-sqlite3';

const steps: readonly string[] = [
  `CREATE TABLE actions (
     action_id TEXT PRIMARY KEY,
     serial INTEGER NOT NULL,
     phase TEXT NOT NULL,
     deployment TEXT, package TEXT, version TEXT,
     bytes_done INTEGER NOT NULL DEFAULT 0,
     dir TEXT,
     attempts INTEGER NOT NULL DEFAULT 0,
     reason TEXT,
     pid INTEGER,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
   CREATE TABLE installed (
     package TEXT PRIMARY KEY, version TEXT NOT NULL, deployment TEXT NOT NULL,
     dir TEXT NOT NULL, installed_at TEXT NOT NULL, action_id TEXT NOT NULL
   );
   CREATE TABLE plan (id INTEGER PRIMARY KEY CHECK (id = 1), serial INTEGER NOT NULL, body TEXT NOT NULL, applied_at TEXT NOT NULL);
   CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // A failure's retry as a value: journals before it marked download failures only by their reason's prefix.
  `ALTER TABLE actions ADD COLUMN retry TEXT CHECK (retry IN ('next-pass', 'new-serial'));
   UPDATE actions SET retry = CASE WHEN reason LIKE 'download failed: %' THEN 'next-pass' ELSE 'new-serial' END WHERE phase = 'failed';`,
];

/** Brings the database to the latest schema. */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let i = version; i < steps.length; i++) {
      db.exec(steps[i]!);
      db.pragma(`user_version = ${i + 1}`);
    }
  }).immediate();
}
