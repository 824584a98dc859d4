/**
 * Round trips to PostgreSQL for onboarding writes (issue 17): a batch of enrollments or inventories
 * costs one statement whatever its size, with no BEGIN/COMMIT around it, sent as a named prepared
 * statement (one text for any size) so PostgreSQL parses and plans it once per connection.
 * Counted at the real `pg` client every store connection goes through.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from '../../../controller/store/index.js';
import type { Inventory } from '../../../core/plan/types.js';

const postgresUrl = process.env.FERRY_TEST_POSTGRES;
const t0 = new Date('2026-12-01T00:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Every statement sent by any `pg` client while `run` runs: its text, and its name when sent as a named prepared statement. */
async function statements(run: () => Promise<unknown>): Promise<{ text: string; name?: string }[]> {
  const seen: { text: string; name?: string }[] = [];
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string; name?: string };
    seen.push(typeof config === 'string' ? { text: config } : { text: config.text ?? '', ...(config.name !== undefined && { name: config.name }) });
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    await run();
  } finally {
    pg.Client.prototype.query = query;
  }
  return seen;
}

describe('controller/store round trips on PostgreSQL @postgres', () => {
  let store: Store;
  let schema: string;

  before(function () {
    if (!postgresUrl) this.skip();
  });

  beforeEach(async () => {
    schema = `ferry_test_${sha(`${process.pid}-${Math.random()}`).slice(0, 12)}`;
    store = await openStore(postgresUrl!, { schema });
  });

  afterEach(async () => {
    await store?.close();
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  });

  it('enrolls a batch of one token in one statement and stores its inventories in one, both prepared once', async () => {
    const { token } = await store.createToken({ ttlMs: 60_000, now: t0 });
    const names = Array.from({ length: 200 }, (_, i) => `h${String(i).padStart(3, '0')}`);
    const enrolled = await statements(() => store.enrollHosts(names.map((host) => ({ token, host, credentialHash: sha(host), facts: {}, labels: {}, now: at(1) }))));
    // One statement counts the token's uses and inserts the hosts.
    expect(enrolled).to.have.length(1);
    expect(enrolled[0]!.name).to.be.a('string');
    expect((await store.listHosts({})).total).to.equal(200);
    expect((await store.listTokens())[0]!.uses).to.equal(200);

    const inv = (host: string, cpus: number): Inventory => ({ host, facts: { cpus }, labels: {}, software: [] });
    let results: readonly { changed: boolean }[] = [];
    const stored = await statements(async () => {
      results = await store.putInventories(names.map((host) => ({ inventory: inv(host, 2), now: at(2) })));
    });
    expect(stored).to.have.length(1);
    // A named prepared statement: parsed once per connection, the same for a batch of any size.
    expect(stored[0]!.name).to.be.a('string');
    expect(results.every((r) => r.changed)).to.equal(true);
    const generation = await store.fleetGeneration();

    // Half re-sent unchanged, half changed: still one statement; only the changed move, the generation moves.
    const again = await statements(async () => {
      results = await store.putInventories(names.map((host, i) => ({ inventory: inv(host, i % 2 === 0 ? 2 : 4), now: at(3) })));
    });
    expect(again).to.have.length(1);
    expect(again[0]!.name).to.equal(stored[0]!.name);
    expect(results.map((r) => r.changed)).to.deep.equal(names.map((_, i) => i % 2 === 1));
    expect(await store.fleetGeneration()).to.not.equal(generation);
    const [even, odd] = await store.listInventories({ hosts: ['h000', 'h001'] });
    expect([even!.updatedAt, even!.reportedAt, odd!.updatedAt, odd!.reportedAt]).to.deep.equal([at(2), at(3), at(3), at(3)].map((d) => d.toISOString()));
    expect((await store.getHost('h000'))?.lastSeenAt).to.equal(at(3).toISOString());

    // All unchanged: the generation stays.
    const before = await store.fleetGeneration();
    const few = await statements(async () => {
      results = await store.putInventories(names.slice(0, 3).map((host, i) => ({ inventory: inv(host, i % 2 === 0 ? 2 : 4), now: at(4) })));
    });
    expect(few.map((s) => s.name)).to.deep.equal([stored[0]!.name]);
    expect(results.some((r) => r.changed)).to.equal(false);
    expect(await store.fleetGeneration()).to.equal(before);
  });
});
