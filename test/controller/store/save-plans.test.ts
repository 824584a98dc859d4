import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'chai';
import { Kysely, SqliteDialect } from 'kysely';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostPlan } from '../../../core/plan/types.js';
import { openStore } from '../../../controller/store/index.js';
import { savePlans } from '../../../controller/store/plans.js';
import type { Database } from '../../../controller/store/schema.js';
import type { Store } from '../../../controller/store/store.js';

const t0 = new Date('2026-12-01T00:00:00Z');
const body = (host: string, version: string): HostPlan => ({
  host,
  sources: [],
  actions: [{ id: `d/p@${version}/install`, deployment: 'd', package: 'p', version, op: 'install', status: 'planned' } as never],
});

describe('controller/store savePlans in batches (SQLite)', () => {
  let dir: string;
  let store: Store;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-save-plans-'));
    store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a batch at a time, signing with an asynchronous signer, and stores the body once when the document holds it', async () => {
    const hosts = Array.from({ length: 7 }, (_, i) => `h${i}`);
    const entries = hosts.map((host) => ({ host, hash: `a-${host}`, body: body(host, '1'), revision: 'r1' }));
    const sign = async (p: { host: string; serial: number; body: HostPlan }) => {
      await new Promise((r) => setImmediate(r));
      return JSON.stringify({ ...p.body, serial: p.serial, signature: 'sig' });
    };
    const raised = await store.savePlans(entries, t0, { sign, documentHoldsBody: true, batchSize: 3 });
    expect(raised).to.deep.equal(hosts.map((host) => ({ host, serial: 1 })));
    for (const host of hosts) expect((await store.getPlan(host))?.body).to.deep.equal(body(host, '1'));
    expect((await store.actionStatuses({ host: 'h6' })).map((a) => [a.actionId, a.state])).to.deep.equal([['d/p@1/install', 'pending']]);
  });

  it('writes only the action rows that changed, keeping when an unchanged action joined the plan', async () => {
    const two = (version: string): HostPlan => ({ ...body('h1', '1'), actions: [...body('h1', '1').actions, ...body('h1', version).actions] });
    await store.savePlans([{ host: 'h1', hash: 'x1', body: body('h1', '1'), revision: 'r1' }], t0);
    await store.savePlans([{ host: 'h1', hash: 'x2', body: two('2'), revision: 'r2' }], t0);
    await store.savePlans([{ host: 'h1', hash: 'x3', body: two('3'), revision: 'r3' }], t0);
    await store.ingestReports('h1', [{ id: 'r', actionId: 'd/p@1/install', serial: 1, state: 'installed', at: t0.toISOString() }], t0);
    expect((await store.actionStatuses({ host: 'h1' })).map((a) => [a.actionId, a.state])).to.deep.equal([
      ['d/p@1/install', 'installed'],
      ['d/p@3/install', 'pending'],
    ]);
  });

  it('hands a batch to the signer before writing the one before it, so signing overlaps the write', async () => {
    const entries = ['h0', 'h1', 'h2', 'h3'].map((host) => ({ host, hash: `a-${host}`, body: body(host, '1'), revision: 'r1' }));
    // A second connection sees only what is committed.
    const reader = new BetterSqlite3(join(dir, 'ferry.db'), { readonly: true });
    const storedWhenSigned: Record<string, number> = {};
    const sign = async (p: { host: string; serial: number; body: HostPlan }) => {
      storedWhenSigned[p.host] = (reader.prepare('select count(*) as n from plans').get() as { n: number }).n;
      await new Promise((r) => setImmediate(r));
      return JSON.stringify({ ...p.body, serial: p.serial, signature: 'sig' });
    };
    try {
      await store.savePlans(entries, t0, { sign, documentHoldsBody: true, batchSize: 2 });
    } finally {
      reader.close();
    }
    // The second batch was signed before the first was committed.
    expect(storedWhenSigned).to.deep.equal({ h0: 0, h1: 0, h2: 0, h3: 0 });
  });

  it('rejects with the failure of a later batch, once the batch being written is stored', async () => {
    const entries = ['h0', 'h1', 'h2', 'h3'].map((host) => ({ host, hash: `a-${host}`, body: body(host, '1'), revision: 'r1' }));
    const sign = async (p: { host: string; serial: number; body: HostPlan }) => {
      await new Promise((r) => setImmediate(r));
      if (p.host === 'h3') throw new Error('no key for h3');
      return JSON.stringify({ ...p.body, serial: p.serial, signature: 'sig' });
    };
    let error: unknown;
    await store.savePlans(entries, t0, { sign, documentHoldsBody: true, batchSize: 2 }).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/no key for h3/);
    expect((await store.getPlan('h1'))?.serial).to.equal(1);
    expect(await store.getPlan('h2')).to.equal(undefined);
  });

  it("takes the action rows of the stored plan from the caller's previous body when the stored hash is that body's, else reads them", async () => {
    const ids = async (host: string) => (await store.actionStatuses({ host })).map((a) => a.actionId);
    await store.savePlans(
      ['h1', 'h2'].map((host) => ({ host, hash: `${host}-1`, body: body(host, '1'), revision: 'r1' })),
      t0,
    );
    // The previous body matches what is stored: the old rows are known without a read.
    await store.savePlans(
      ['h1', 'h2'].map((host) => ({ host, hash: `${host}-2`, body: body(host, '2'), revision: 'r2', previous: { hash: `${host}-1`, body: body(host, '1') } })),
      t0,
    );
    expect([await ids('h1'), await ids('h2')]).to.deep.equal([['d/p@2/install'], ['d/p@2/install']]);
    // A previous body that is not the stored one (another writer saved since): the rows are read.
    await store.savePlans([{ host: 'h1', hash: 'h1-3', body: body('h1', '3'), revision: 'r3', previous: { hash: 'h1-1', body: body('h1', '1') } }], t0);
    expect(await ids('h1')).to.deep.equal(['d/p@3/install']);
    // The body given with the stored hash is trusted as it is: its rows are not read back.
    await store.savePlans([{ host: 'h2', hash: 'h2-4', body: body('h2', '4'), revision: 'r4', previous: { hash: 'h2-2', body: body('h2', '9') } }], t0);
    expect(await ids('h2')).to.deep.equal(['d/p@2/install', 'd/p@4/install']);
  });

  it('deletes the action rows that left the plans a slice per statement, and writes no row of an unchanged action', async () => {
    const hosts = Array.from({ length: 120 }, (_, i) => `h${String(i).padStart(3, '0')}`);
    // Two actions each: one that stays, one whose version changes (its id leaves, a new one joins).
    const plan = (host: string, version: string): HostPlan => ({
      host,
      sources: [],
      actions: [body(host, 'stay').actions[0]!, { ...body(host, version).actions[0]!, id: `e/q@${version}/install`, deployment: 'e', package: 'q' } as never],
    });
    await store.savePlans(
      hosts.map((host) => ({ host, hash: `${host}-1`, body: plan(host, '1'), revision: 'r1' })),
      t0,
    );
    // A second connection to the same file, logging each statement it runs.
    const statements: string[] = [];
    const database = new BetterSqlite3(join(dir, 'ferry.db'));
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }), log: (e) => void statements.push(e.query.sql) });
    const changesBefore = (database.prepare('select total_changes() as n').get() as { n: number }).n;
    try {
      const entries = hosts.map((host) => ({ host, hash: `${host}-2`, body: plan(host, '2'), revision: 'r2', previous: { hash: `${host}-1`, body: plan(host, '1') } }));
      expect(await savePlans(db, entries, t0, { batchSize: 1000 })).to.have.length(120);
      const changed = (database.prepare('select total_changes() as n').get() as { n: number }).n - changesBefore;
      // 120 plans, 120 action rows deleted and 120 inserted, one meta row: the 120 rows of the unchanged action are not written.
      expect(changed).to.equal(120 + 120 + 120 + 1);
      const deletes = statements.filter((q) => /^delete from "?plan_actions/i.test(q));
      expect(deletes).to.have.length(1);
    } finally {
      await db.destroy();
    }
    expect((await store.actionStatuses({ host: 'h119' })).map((a) => a.actionId)).to.deep.equal(['d/p@stay/install', 'e/q@2/install']);
    expect((await store.countStates()).map((c) => [c.deployment, c.count])).to.deep.equal([
      ['d', 120],
      ['e', 120],
    ]);
  });
});
