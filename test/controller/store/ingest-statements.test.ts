import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'chai';
import { Kysely, SqliteDialect } from 'kysely';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionReport } from '../../../core/plan/types.js';
import { openStore } from '../../../controller/store/index.js';
import { ingestReportBatches } from '../../../controller/store/reports.js';
import type { Database } from '../../../controller/store/schema.js';

const t0 = new Date('2026-12-01T00:00:00Z');
const reportsOf = (host: string, from: number, to: number): ActionReport[] =>
  Array.from({ length: to - from }, (_, j) => ({
    id: `${host}-r${from + j}`,
    actionId: `d${(from + j) % 3}/p${from + j}@1/install`,
    serial: 1,
    state: 'downloading',
    at: new Date(t0.getTime() + (from + j) * 1000).toISOString(),
  }));

describe('controller/store report ingestion: statements per group commit (SQLite)', () => {
  let dir: string;
  let db: Kysely<Database>;
  let statements: string[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-ingest-statements-'));
    const file = join(dir, 'ferry.db');
    await (await openStore(`sqlite:${file}`)).close(); // the schema
    statements = [];
    db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: new BetterSqlite3(file) }),
      log: (event) => void statements.push(event.query.sql),
    });
  });
  afterEach(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const returning = () => statements.filter((s) => / returning /i.test(s)).length;
  const writes = () => statements.filter((s) => /^insert /i.test(s)).length;

  it('writes new reports without RETURNING: one insert of history and one upsert of states per 500 rows', async () => {
    // 30 hosts × 20 reports: 600 history rows and 600 state rows, two statements each.
    const results = await ingestReportBatches(
      db,
      Array.from({ length: 30 }, (_, h) => ({ host: `h${h}`, reports: reportsOf(`h${h}`, 0, 20), now: t0 })),
    );
    expect(results.every((r) => r.accepted === 20 && r.duplicates === 0 && r.advanced.length === 20)).to.equal(true);
    expect({ writes: writes(), returning: returning() }).to.deep.equal({ writes: 4, returning: 0 });
  });

  it('a retry among new reports: the statements are undone and run again with RETURNING, which names the duplicates', async () => {
    await ingestReportBatches(db, [{ host: 'h0', reports: reportsOf('h0', 0, 5), now: t0 }]);
    statements = [];
    const results = await ingestReportBatches(db, [
      { host: 'h0', reports: reportsOf('h0', 0, 10), now: t0 },
      { host: 'h1', reports: reportsOf('h1', 0, 10), now: t0 },
    ]);
    expect(results).to.deep.equal([
      {
        accepted: 5,
        duplicates: 5,
        advanced: reportsOf('h0', 5, 10)
          .map((r) => ({ actionId: r.actionId, state: 'downloading' }))
          .sort((a, b) => (a.actionId < b.actionId ? -1 : 1)),
      },
      {
        accepted: 10,
        duplicates: 0,
        advanced: reportsOf('h1', 0, 10)
          .map((r) => ({ actionId: r.actionId, state: 'downloading' }))
          .sort((a, b) => (a.actionId < b.actionId ? -1 : 1)),
      },
    ]);
    // History: without, undone, with RETURNING; states (only new reports reach them): all moved, once.
    expect({ writes: writes(), returning: returning() }).to.deep.equal({ writes: 3, returning: 1 });
    expect(statements.filter((s) => /^rollback to savepoint/i.test(s))).to.have.length(1);
    const stored = await db
      .selectFrom('reports')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).to.equal(20);
  });
});
