/**
 * The one store suite, run on SQLite (a temp file) and on PostgreSQL (FERRY_TEST_POSTGRES, a fresh
 * schema per test). PostgreSQL titles carry `@postgres`: CI runs `mocha --grep @postgres`.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { openStore, parseStoreUrl, type OpenStoreOptions, type Store } from '../../../controller/store/index.js';
import { overrideInForce } from '../../../controller/store/store.js';
import type { ActionReport, HostPlan, Inventory, PlanAction, PlannedStatus } from '../../../core/plan/types.js';

interface Database {
  readonly url: string;
  readonly options: OpenStoreOptions;
  /** Reads raw rows, to check what is (not) stored. */
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** Runs a statement that writes (e.g. to put the schema back to an older migration). */
  run(sql: string): Promise<void>;
  drop(): Promise<void>;
}

interface Backend {
  readonly name: string;
  /** Null when this backend cannot run here; the reason is given. */
  unavailable(): string | undefined;
  create(): Promise<Database>;
}

const postgresUrl = process.env.FERRY_TEST_POSTGRES;

const backends: readonly Backend[] = [
  {
    name: 'controller/store on SQLite',
    unavailable: () => undefined,
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'ferry-store-'));
      const file = join(dir, 'ferry.db');
      return {
        url: `sqlite:${file}`,
        options: {},
        async rows(sql) {
          const db = new BetterSqlite3(file, { readonly: true });
          try {
            return db.prepare(sql).all() as Record<string, unknown>[];
          } finally {
            db.close();
          }
        },
        async run(sql) {
          const db = new BetterSqlite3(file);
          try {
            db.exec(sql);
          } finally {
            db.close();
          }
        },
        async drop() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'controller/store on PostgreSQL @postgres',
    unavailable: () => (postgresUrl ? undefined : 'FERRY_TEST_POSTGRES is not set'),
    async create() {
      const schema = `ferry_test_${createHash('sha256').update(`${process.pid}-${Math.random()}`).digest('hex').slice(0, 12)}`;
      const url = postgresUrl!;
      const query = async (sql: string) => {
        const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
        await client.connect();
        try {
          return (await client.query(sql)).rows as Record<string, unknown>[];
        } finally {
          await client.end();
        }
      };
      return {
        url,
        options: { schema },
        rows: query,
        run: async (sql) => void (await query(sql)),
        drop: async () => void (await query(`drop schema if exists ${schema} cascade`)),
      };
    },
  },
];

const t0 = new Date('2026-12-01T00:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const report = (id: string, actionId: string, state: ActionReport['state'], seconds: number, extra: Partial<ActionReport> = {}): ActionReport => ({
  id,
  actionId,
  serial: 1,
  state,
  at: at(seconds).toISOString(),
  ...extra,
});

const plan = (host: string, _pkg: string): HostPlan => ({ host, sources: [{ kind: 'controller', name: 'controller' }], actions: [] });

/** A plan action of `DEPLOYMENT/PACKAGE@VERSION/OP`, with the planner's status and reason. */
const action = (id: string, status: PlannedStatus = 'planned', reason?: string): PlanAction => {
  const [deployment, rest] = id.split('/') as [string, string];
  const [pkg, version] = rest.split('@') as [string, string];
  return {
    id,
    deployment,
    package: pkg,
    version,
    op: id.endsWith('/uninstall') ? 'uninstall' : 'install',
    status,
    ...(reason !== undefined && { reason }),
    blockedBy: [],
    artifact: { sha256: 'a'.repeat(64), size: 1 },
    conditions: [],
    distribute: { multicast: false, wake: false },
    shutdownAfter: false,
    suspended: false,
  };
};
const planWith = (host: string, ...actions: PlanAction[]): HostPlan => ({ host, sources: [], actions });

for (const backend of backends) {
  describe(backend.name, () => {
    let database: Database;
    let store: Store;
    const extra: Store[] = [];

    before(function () {
      const reason = backend.unavailable();
      if (reason === undefined) return;
      if (process.env.CI === 'true') throw new Error(`${backend.name} cannot run under CI=true: ${reason}`);
      this.skip();
    });

    beforeEach(async () => {
      database = await backend.create();
      store = await openStore(database.url, database.options);
    });

    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await store?.close();
      await database?.drop();
    });

    const open = async () => {
      const s = await openStore(database.url, database.options);
      extra.push(s);
      return s;
    };

    it('migrates an empty database and reopens it without migrating again', async () => {
      expect(store.dialect).to.equal(parseStoreUrl(database.url).dialect);
      expect(await store.listHosts({})).to.deep.equal({ hosts: [], total: 0 });
      expect(await store.getSourceStatus()).to.deep.equal({});
      expect(await store.listOverrides()).to.deep.equal([]);
      expect(await store.listInstalled()).to.deep.equal([]);
      expect(await store.countStates()).to.deep.equal([]);
      expect(await store.listInventories()).to.deep.equal([]);
      await store.setMeta('k', 'v1');
      await store.setMeta('k', 'v2');
      const again = await open();
      expect(await again.getMeta('k')).to.equal('v2');
      expect(await again.getMeta('missing')).to.equal(undefined);
      const migrations = await database.rows('select name from kysely_migration order by name');
      expect(migrations).to.deep.equal([
        { name: '0001-initial' },
        { name: '0002-override-reason' },
        { name: '0003-plan-actions' },
        { name: '0004-reports-received-at' },
        { name: '0005-token-revoked' },
        { name: '0006-override-git-suspended' },
        { name: '0007-plans-generated-at' },
        { name: '0008-replicas' },
      ]);
    });

    it('stores only the hash of an enrollment token, valid for many uses until it expires', async () => {
      const created = await store.createToken({ ttlMs: 60_000, now: t0 });
      expect(created.token).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(created.expiresAt).to.equal('2026-12-01T00:01:00.000Z');
      expect(await database.rows('select token_hash, uses from enrollment_tokens')).to.deep.equal([{ token_hash: sha(created.token), uses: 0 }]);
      expect(await store.consumeToken(created.token, at(1))).to.deep.equal({ ok: true, expiresAt: created.expiresAt, uses: 1 });
      expect(await store.consumeToken(created.token, at(59))).to.deep.equal({ ok: true, expiresAt: created.expiresAt, uses: 2 });
      expect(await store.consumeToken(created.token, at(60))).to.deep.equal({ ok: false, error: 'expired' });
      expect(await store.consumeToken('not-a-token', at(1))).to.deep.equal({ ok: false, error: 'unknown-token' });
    });

    it('lists enrollment tokens without their secret and revokes one by id or by the token itself', async () => {
      const a = await store.createToken({ ttlMs: 3_600_000, now: t0 });
      const b = await store.createToken({ ttlMs: 3_600_000, now: at(1) });
      expect(a.id).to.equal(sha(a.token).slice(0, 12));
      await store.consumeToken(a.token, at(2));
      expect(await store.listTokens()).to.deep.equal([
        { id: b.id, createdAt: at(1).toISOString(), expiresAt: b.expiresAt, uses: 0 },
        { id: a.id, createdAt: t0.toISOString(), expiresAt: a.expiresAt, uses: 1, lastUsedAt: at(2).toISOString() },
      ]);
      expect(await store.revokeToken(a.id, at(3))).to.deep.equal({
        token: { id: a.id, createdAt: t0.toISOString(), expiresAt: at(3).toISOString(), uses: 1, lastUsedAt: at(2).toISOString(), revokedAt: at(3).toISOString() },
      });
      expect(await store.consumeToken(a.token, at(4))).to.deep.equal({ ok: false, error: 'expired' });
      expect(await store.revokeToken(b.token, at(5))).to.have.nested.property('token.revokedAt', at(5).toISOString());
      expect(await store.revokeToken('0123456789ab', at(5))).to.deep.equal({ error: 'unknown-token' });
    });

    it('enrolls a host once, refuses a second enrollment, and allows it again after a reset', async () => {
      const request = { host: 'clt2', credentialHash: sha('c1'), facts: { arch: 'x64' }, labels: { dept: 'sales' }, now: t0 };
      const enrolled = {
        host: 'clt2',
        state: 'enrolled',
        facts: { arch: 'x64' },
        labels: { dept: 'sales' },
        enrolledAt: t0.toISOString(),
        lastSeenAt: t0.toISOString(),
      };
      expect(await store.enrollHost(request)).to.deep.equal({ host: enrolled });
      expect(await store.enrollHost({ ...request, credentialHash: sha('c2'), now: at(5) })).to.deep.equal({ error: 'host-exists' });
      expect(await store.findHostByCredentialHash(sha('c1'))).to.deep.equal({ host: 'clt2', credentialHash: sha('c1') });
      expect(await store.findHostByCredentialHash(sha('c2'))).to.equal(undefined);
      expect(await store.getHost('clt2')).to.deep.equal(enrolled);

      expect(await store.resetHost('clt2', at(10))).to.deep.equal({ host: { ...enrolled, state: 'reset', resetAt: at(10).toISOString() } });
      expect(await store.resetHost('nobody', at(10))).to.deep.equal({ error: 'unknown-host' });
      expect(await store.findHostByCredentialHash(sha('c1'))).to.equal(undefined);

      expect(await store.enrollHost({ ...request, credentialHash: sha('c3'), facts: {}, now: at(20) })).to.deep.equal({
        host: { ...enrolled, facts: {}, enrolledAt: at(20).toISOString(), lastSeenAt: at(20).toISOString(), resetAt: at(10).toISOString() },
      });
      expect(await store.findHostByCredentialHash(sha('c3'))).to.deep.equal({ host: 'clt2', credentialHash: sha('c3') });
    });

    it('lists hosts by name, paged and filtered by enrollment state', async () => {
      for (const name of ['h3', 'h1', 'h2', 'h4']) {
        await store.enrollHost({ host: name, credentialHash: sha(name), facts: {}, labels: {}, now: t0 });
      }
      await store.resetHost('h2', at(1));
      await store.markSeen('h4', at(2));
      const page = await store.listHosts({ offset: 1, limit: 2 });
      expect(page.total).to.equal(4);
      expect(page.hosts.map((h) => [h.host, h.state])).to.deep.equal([
        ['h2', 'reset'],
        ['h3', 'enrolled'],
      ]);
      const enrolled = await store.listHosts({ state: 'enrolled' });
      expect([enrolled.total, enrolled.hosts.map((h) => h.host)]).to.deep.equal([3, ['h1', 'h3', 'h4']]);
      expect((await store.listHosts({ state: 'reset' })).hosts.map((h) => h.host)).to.deep.equal(['h2']);
      expect((await store.getHost('h4'))?.lastSeenAt).to.equal(at(2).toISOString());
    });

    it('keeps the latest inventory with a hash that ignores key order', async () => {
      const inv: Inventory = { host: 'clt2', facts: { os: { platform: 'linux' }, cpus: 4 }, labels: {}, software: [] };
      const first = await store.putInventory(inv, t0);
      expect(first.changed).to.equal(true);
      expect(first.hash).to.match(/^[0-9a-f]{64}$/);
      const reordered: Inventory = { software: [], labels: {}, facts: { cpus: 4, os: { platform: 'linux' } }, host: 'clt2' };
      expect(await store.putInventory(reordered, at(10))).to.deep.equal({ hash: first.hash, changed: false });
      expect(await store.getInventory('clt2')).to.deep.equal({ inventory: inv, hash: first.hash, updatedAt: t0.toISOString(), reportedAt: at(10).toISOString() });

      const changed: Inventory = { ...inv, facts: { ...inv.facts, cpus: 8 } };
      const second = await store.putInventory(changed, at(20));
      expect(second.changed).to.equal(true);
      const third = await store.putInventory({ ...inv, host: 'clt3' }, at(5));
      expect(await store.listInventories({ changedSince: at(5) })).to.deep.equal([
        { inventory: changed, hash: second.hash, updatedAt: at(20).toISOString(), reportedAt: at(20).toISOString() },
      ]);
      expect((await store.listInventories()).map((r) => r.inventory.host)).to.deep.equal(['clt2', 'clt3']);
      // What the reconciler reads: hashes alone, and the documents of named hosts only.
      expect(await store.inventoryHashes()).to.deep.equal(
        new Map([
          ['clt2', second.hash],
          ['clt3', third.hash],
        ]),
      );
      expect(await store.listInventories({ hosts: ['clt3', 'nobody', 'clt3'] })).to.deep.equal([
        { inventory: { ...inv, host: 'clt3' }, hash: third.hash, updatedAt: at(5).toISOString(), reportedAt: at(5).toISOString() },
      ]);
      expect(await store.listInventories({ hosts: [] })).to.deep.equal([]);
    });

    it('enrolls and stores inventories in batches, each decided as it would be alone', async () => {
      const token = (await store.createToken({ ttlMs: 60_000, now: t0 })).token;
      await store.createToken({ ttlMs: 1_000, now: t0 });
      const old = (await store.createToken({ ttlMs: 1_000, now: t0 })).token;
      await store.enrollHost({ host: 'taken', credentialHash: sha('t'), facts: {}, labels: {}, now: t0 });
      const attempt = (host: string, tok: string, cred: string) => ({ token: tok, host, credentialHash: sha(cred), facts: {}, labels: { dept: 'ops' }, now: at(2) });
      const host = (name: string) => ({ host: name, state: 'enrolled', facts: {}, labels: { dept: 'ops' }, enrolledAt: at(2).toISOString(), lastSeenAt: at(2).toISOString() });
      expect(
        await store.enrollHosts([
          attempt('b1', token, 'c1'),
          attempt('taken', token, 'c2'),
          attempt('b2', 'not-a-token', 'c3'),
          attempt('b1', token, 'c4'),
          attempt('b3', old, 'c5'),
          attempt('b4', token, 'c6'),
        ]),
      ).to.deep.equal([{ host: host('b1') }, { error: 'host-exists' }, { error: 'unknown-token' }, { error: 'host-exists' }, { error: 'expired' }, { host: host('b4') }]);
      expect(await store.enrollHosts([])).to.deep.equal([]);
      expect(await database.rows('select uses from enrollment_tokens order by uses')).to.deep.equal([{ uses: 0 }, { uses: 0 }, { uses: 4 }]);
      expect((await store.listHosts({})).hosts.map((h) => [h.host, h.state])).to.deep.equal([
        ['b1', 'enrolled'],
        ['b4', 'enrolled'],
        ['taken', 'enrolled'],
      ]);
      expect(await store.findHostByCredentialHash(sha('c1'))).to.deep.equal({ host: 'b1', credentialHash: sha('c1') });
      expect(await store.findHostByCredentialHash(sha('c4'))).to.equal(undefined);

      const inv = (name: string, cpus: number): Inventory => ({ host: name, facts: { cpus }, labels: {}, software: [] });
      const [first] = await store.putInventories([{ inventory: inv('b1', 2), now: at(3) }]);
      const results = await store.putInventories([
        { inventory: inv('b1', 2), now: at(4) },
        { inventory: inv('b4', 4), now: at(5) },
        { inventory: inv('b4', 8), now: at(6) },
      ]);
      expect(results).to.deep.equal([
        { hash: first!.hash, changed: false },
        { hash: results[1]!.hash, changed: true },
        { hash: results[2]!.hash, changed: true },
      ]);
      expect(results[1]!.hash).to.not.equal(results[2]!.hash);
      expect(await store.putInventories([])).to.deep.equal([]);
      // Distinct hosts: one multi-row write, each item decided alone (b1 unchanged, b4 changed back, b9 unknown yet).
      const distinct = await store.putInventories([
        { inventory: inv('b1', 2), now: at(4) },
        { inventory: inv('b4', 8), now: at(6) },
      ]);
      expect(distinct).to.deep.equal([
        { hash: first!.hash, changed: false },
        { hash: results[2]!.hash, changed: false },
      ]);
      expect(await store.listInventories()).to.deep.equal([
        { inventory: inv('b1', 2), hash: first!.hash, updatedAt: at(3).toISOString(), reportedAt: at(4).toISOString() },
        { inventory: inv('b4', 8), hash: results[2]!.hash, updatedAt: at(6).toISOString(), reportedAt: at(6).toISOString() },
      ]);
      expect([(await store.getHost('b1'))?.lastSeenAt, (await store.getHost('b4'))?.lastSeenAt]).to.deep.equal([at(4).toISOString(), at(6).toISOString()]);
      // The fleet generation (a no-change reconcile pass skips on it) moves with a changed inventory
      // written by the multi-row path, and stays with unchanged ones.
      const before = await store.fleetGeneration();
      await store.putInventories([
        { inventory: inv('b1', 2), now: at(7) },
        { inventory: inv('b4', 8), now: at(7) },
      ]);
      expect(await store.fleetGeneration()).to.equal(before);
      await store.putInventories([
        { inventory: inv('b1', 16), now: at(8) },
        { inventory: inv('b4', 8), now: at(8) },
      ]);
      expect(await store.fleetGeneration()).to.not.equal(before);
    });

    it('raises a plan serial by one only when its hash changes', async () => {
      const a = plan('a', ''),
        b = plan('b', '');
      expect(
        await store.savePlans(
          [
            { host: 'b', hash: 'hb1', body: b, revision: 'r1' },
            { host: 'a', hash: 'ha1', body: a, revision: 'r1' },
          ],
          t0,
        ),
      ).to.deep.equal([
        { host: 'a', serial: 1 },
        { host: 'b', serial: 1 },
      ]);
      expect(
        await store.savePlans(
          [
            { host: 'a', hash: 'ha1', body: a, revision: 'r2' },
            { host: 'b', hash: 'hb1', body: b, revision: 'r2' },
          ],
          at(1),
        ),
      ).to.deep.equal([]);
      const signed: string[] = [];
      const sign = (p: { host: string; serial: number; revision: string; generatedAt: string }) => {
        const doc = JSON.stringify({ host: p.host, serial: p.serial, revision: p.revision, generatedAt: p.generatedAt, signature: 'sig' });
        signed.push(doc);
        return doc;
      };
      const a2: HostPlan = { ...a, sources: [] };
      expect(
        await store.savePlans(
          [
            { host: 'a', hash: 'ha2', body: a2, revision: 'r3' },
            { host: 'b', hash: 'hb1', body: b, revision: 'r3' },
          ],
          at(2),
          { sign },
        ),
      ).to.deep.equal([{ host: 'a', serial: 2 }]);
      expect(await store.getPlan('a')).to.deep.equal({ host: 'a', serial: 2, hash: 'ha2', revision: 'r3', body: a2, generatedAt: at(2).toISOString(), signed: signed[0] });
      expect(await store.getPlan('b')).to.deep.equal({ host: 'b', serial: 1, hash: 'hb1', revision: 'r1', body: b, generatedAt: t0.toISOString() });
      expect(await store.getPlan('c')).to.equal(undefined);

      expect(
        await store.putSignedPlans([
          { host: 'a', serial: 1, signed: 'stale', signedAt: at(3) },
          { host: 'b', serial: 1, signed: 'fresh', signedAt: at(3) },
        ]),
      ).to.equal(1);
      expect((await store.getPlan('a'))?.signed).to.equal(signed[0]);
      expect((await store.getPlan('b'))?.signed).to.equal('fresh');
    });

    it('refuses a batch whose serial another writer raised while it was being signed, and saves nothing of it', async () => {
      await store.savePlans([{ host: 'h1', hash: 'one', body: plan('h1', ''), revision: 'r1' }], t0);
      const other: HostPlan = { ...plan('h1', ''), sources: [] };
      const sign = async (p: { host: string; serial: number }) => {
        // Another writer raises the same host's serial meanwhile.
        await store.savePlans([{ host: 'h1', hash: 'other', body: other, revision: 'r3' }], t0);
        return `doc-${p.host}-${p.serial}`;
      };
      let error: unknown;
      await store.savePlans([{ host: 'h1', hash: 'two', body: plan('h1', ''), revision: 'r2' }], t0, { sign }).catch((e: unknown) => (error = e));
      expect(String(error)).to.match(/1 of 1 plans changed while being saved/);
      const stored = await store.getPlan('h1');
      expect(stored).to.include({ serial: 2, hash: 'other', revision: 'r3' });
      expect(stored?.signed).to.equal(undefined);
    });

    it('serves a signed plan with its sha256, and changes the plans version on every document write', async () => {
      const versions = [await store.plansVersion()];
      await store.savePlans([{ host: 'a', hash: 'h1', body: plan('a', ''), revision: 'r1' }], t0, { sign: () => 'doc-1' });
      versions.push(await store.plansVersion());
      await store.savePlans([{ host: 'a', hash: 'h1', body: plan('a', ''), revision: 'r2' }], at(1), { sign: () => 'unused' });
      versions.push(await store.plansVersion());
      expect(await store.getSignedPlan('a')).to.deep.equal({ host: 'a', serial: 1, signed: 'doc-1', sha256: createHash('sha256').update('doc-1').digest('hex'), generatedAt: t0 });
      expect(await store.putSignedPlans([{ host: 'a', serial: 1, signed: 'doc-1b', signedAt: at(1) }])).to.equal(1);
      versions.push(await store.plansVersion());
      expect(await store.putSignedPlans([{ host: 'a', serial: 9, signed: 'stale', signedAt: at(1) }])).to.equal(0);
      versions.push(await store.plansVersion());
      await store.savePlans([{ host: 'b', hash: 'h1', body: plan('b', ''), revision: 'r1' }], at(2));
      versions.push(await store.plansVersion());
      expect((await store.getSignedPlan('a'))?.signed).to.equal('doc-1b');
      expect(await store.getSignedPlan('b')).to.equal(undefined);
      expect(await store.getSignedPlan('c')).to.equal(undefined);
      // New documents, no change, re-signed, stale re-sign refused, a new (unsigned) plan.
      const [v0, v1, v2, v3, v4, v5] = versions;
      expect([v1 !== v0, v2 === v1, v3 !== v2, v4 === v3, v5 !== v4]).to.deep.equal([true, true, true, true, true]);
    });

    it('saves plans for many hosts in one call', async () => {
      const entries = Array.from({ length: 1201 }, (_, i) => ({ host: `h${String(i).padStart(4, '0')}`, hash: 'x', body: plan(`h${i}`, ''), revision: 'r1' }));
      expect((await store.savePlans(entries, t0)).length).to.equal(1201);
      const next = entries.map((e, i) => (i % 100 === 0 ? { ...e, hash: 'y' } : e));
      expect(await store.savePlans(next, at(1))).to.deep.equal(entries.filter((_, i) => i % 100 === 0).map((e) => ({ host: e.host, serial: 2 })));
    });

    it('ingests reports idempotently and keeps the newest as the current state', async () => {
      const install = 'editor-2-4/text-editor@2.4.1/install';
      const batch = [
        report('r1', install, 'pending', 1),
        report('r2', install, 'downloading', 2, { bytesDone: 512 }),
        report('r3', install, 'installing', 3),
        report('r4', 'odd-action', 'waiting', 1),
      ];
      expect(await store.ingestReports('clt2', batch, at(10))).to.deep.equal({
        accepted: 4,
        duplicates: 0,
        advanced: [
          { actionId: install, state: 'installing' },
          { actionId: 'odd-action', state: 'waiting' },
        ],
      });
      const states = await store.currentStates();
      expect(states).to.deep.equal([
        {
          host: 'clt2',
          actionId: install,
          deployment: 'editor-2-4',
          package: 'text-editor',
          version: '2.4.1',
          op: 'install',
          state: 'installing',
          at: at(3).toISOString(),
          report: batch[2],
        },
        { host: 'clt2', actionId: 'odd-action', state: 'waiting', at: at(1).toISOString(), report: batch[3] },
      ]);
      expect(await store.ingestReports('clt2', batch, at(20))).to.deep.equal({ accepted: 0, duplicates: 4, advanced: [] });
      expect(await store.currentStates()).to.deep.equal(states);
      expect((await store.history('clt2')).length).to.equal(4);

      // The same id from another host is that host's own report.
      expect(await store.ingestReports('clt3', [batch[0]!], at(20))).to.deep.equal({ accepted: 1, duplicates: 0, advanced: [{ actionId: install, state: 'pending' }] });
      // A repeat inside one batch is a duplicate too.
      expect(await store.ingestReports('clt3', [batch[1]!, batch[1]!], at(20))).to.deep.equal({
        accepted: 1,
        duplicates: 1,
        advanced: [{ actionId: install, state: 'downloading' }],
      });
    });

    it("ingests many hosts' batches in one transaction (group commit), each as its own ingestReports call would", async () => {
      const install = 'editor-2-4/text-editor@2.4.1/install';
      const results = await store.ingestReportBatches([
        { host: 'g1', reports: [report('a', install, 'pending', 1), report('b', install, 'installed', 2)], now: at(10) },
        { host: 'g2', reports: [report('a', install, 'failed', 1)], now: at(10) },
        { host: 'g1', reports: [report('b', install, 'installed', 2), report('c', install, 'downloading', 1)], now: at(11) },
        { host: 'g3', reports: [], now: at(11) },
      ]);
      expect(results).to.deep.equal([
        { accepted: 2, duplicates: 0, advanced: [{ actionId: install, state: 'installed' }] },
        { accepted: 1, duplicates: 0, advanced: [{ actionId: install, state: 'failed' }] },
        { accepted: 1, duplicates: 1, advanced: [] },
        { accepted: 0, duplicates: 0, advanced: [] },
      ]);
      expect((await store.history('g1')).map((r) => r.id)).to.deep.equal(['a', 'c', 'b']);
      expect((await store.listInstalled()).map((r) => r.host)).to.deep.equal(['g1']);
    });

    it('decides a group commit of many hosts (past one statement of rows) as one ingestReports call per batch would', async () => {
      const install = (k: number) => `d${k % 3}/p${k}@1/install`;
      const reportsOf = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, j) => report(`r${from + j}`, install(from + j), from + j === 5 ? 'installed' : 'downloading', from + j));
      // 40 hosts × 15 reports: 600 rows, more than one multi-row statement holds.
      const first = await store.ingestReportBatches(Array.from({ length: 40 }, (_, h) => ({ host: `m${h}`, reports: reportsOf(0, 15), now: at(100) })));
      expect(first.every((r) => r.accepted === 15 && r.duplicates === 0 && r.advanced.length === 15)).to.equal(true);
      // Again with 5 more each (10 already there), one host twice: its second batch sees its first.
      const again = await store.ingestReportBatches([
        ...Array.from({ length: 40 }, (_, h) => ({ host: `m${h}`, reports: reportsOf(10, 20), now: at(101) })),
        { host: 'm0', reports: [...reportsOf(18, 21), report('r20', install(20), 'failed', 20)], now: at(102) },
      ]);
      expect(again.slice(0, 40).every((r) => r.accepted === 5 && r.duplicates === 5 && r.advanced.length === 5)).to.equal(true);
      expect(again[40]).to.deep.equal({ accepted: 1, duplicates: 3, advanced: [{ actionId: install(20), state: 'downloading' }] });
      expect((await store.history('m0')).map((r) => r.id)).to.have.length(21);
      expect((await store.currentStates({ host: 'm39' })).map((r) => r.actionId)).to.have.length(20);
      expect((await store.listInstalled()).map((r) => r.host)).to.have.members(Array.from({ length: 40 }, (_, h) => `m${h}`));
    });

    it("has an index on the plans' time, so each poll-cache sync need not read the whole table", async () => {
      const sqlite = backend.name.includes('SQLite');
      const indexes = sqlite
        ? await database.rows("select name from sqlite_master where type = 'index' and tbl_name = 'plans'")
        : await database.rows("select indexname as name from pg_indexes where tablename = 'plans' and schemaname = current_schema()");
      // SQLite's query plan is checked in the next test (a covering index); PostgreSQL's needs the index to exist.
      expect(indexes.map((r) => (r as { name: string }).name)).to.include('plans_generated_at');
    });

    it("tells a replica's poll cache what changed: credentials revoked and plan serials raised since a time", async () => {
      const { token } = await store.createToken({ ttlMs: 3_600_000, now: at(0) });
      await store.enrollHosts(['v1', 'v2'].map((host) => ({ token, host, credentialHash: `hash-${host}`, facts: {}, labels: {}, now: at(0) })));
      await store.markSeenMany([
        { host: 'v1', at: at(5) },
        { host: 'v2', at: at(5) },
        { host: 'v2', at: at(-5) },
        { host: 'nobody', at: at(5) },
      ]);
      expect([(await store.getHost('v1'))?.lastSeenAt, (await store.getHost('v2'))?.lastSeenAt]).to.deep.equal([at(5).toISOString(), at(5).toISOString()]);
      const before = await store.credentialsVersion();
      await store.resetHost('v2', at(20));
      expect(await store.credentialsVersion()).to.not.equal(before);
      expect([await store.resetSince(at(20)), await store.resetSince(at(21))]).to.deep.equal([['v2'], []]);
      const body = (host: string) => ({ host, sources: [], actions: [] });
      await store.savePlans([{ host: 'v1', hash: 'x1', body: body('v1'), revision: 'r1' }], at(30));
      await store.savePlans(
        [
          { host: 'v1', hash: 'x2', body: body('v1'), revision: 'r2' },
          { host: 'v2', hash: 'y1', body: body('v2'), revision: 'r2' },
        ],
        at(40),
      );
      const sorted = (rows: readonly { host: string; serial: number }[]) => [...rows].sort((a, b) => a.host.localeCompare(b.host));
      expect(sorted(await store.plansChangedSince(at(35)))).to.deep.equal([
        { host: 'v1', serial: 2, generatedAt: at(40) },
        { host: 'v2', serial: 1, generatedAt: at(40) },
      ]);
      expect(await store.plansChangedSince(at(41))).to.deep.equal([]);
      // A document re-signed with the same serial is listed too (its time moves), so a poll cache drops it.
      expect(await store.putSignedPlans([{ host: 'v2', serial: 1, signed: 'again', signedAt: at(50) }])).to.equal(1);
      expect(await store.plansChangedSince(at(41))).to.deep.equal([{ host: 'v2', serial: 1, generatedAt: at(50) }]);
      if (store.dialect === 'sqlite') {
        // The poll cache syncs every second: it reads the index, never the plans' documents.
        const plan = await database.rows(`explain query plan select host, serial from plans where generated_at >= '${at(35).toISOString()}'`);
        expect(plan.map((r) => r['detail'])).to.deep.equal(['SEARCH plans USING COVERING INDEX plans_generated_at (generated_at>?)']);
      }
    });

    it('prunes reports received before a time, in slices, keeping current states; a pruned report sent again is history only', async () => {
      const id = 'd/p@1/install';
      const old = Array.from({ length: 12_000 }, (_, i) => report(`old-${String(i).padStart(5, '0')}`, `d/p@1/a${i % 7}`, 'downloading', 1));
      for (let i = 0; i < old.length; i += 2_000) await store.ingestReports('h', old.slice(i, i + 2_000), at(10));
      await store.ingestReports('h', [report('k1', id, 'installing', 2)], at(10));
      await store.ingestReports('h', [report('k2', id, 'installed', 3)], at(30));
      const states = await store.currentStates({ host: 'h' });
      expect(await store.pruneReports(at(20))).to.equal(12_001);
      expect((await store.history('h')).map((r) => r.id)).to.deep.equal(['k2']);
      expect(await store.currentStates({ host: 'h' })).to.deep.equal(states);
      expect(await store.pruneReports(at(20))).to.equal(0);
      // The agent sends a pruned report again: back in the history, the state does not move back.
      expect(await store.ingestReports('h', [report('k1', id, 'installing', 2)], at(40))).to.deep.include({ accepted: 1, advanced: [] });
      expect((await store.currentStates({ host: 'h' })).find((s) => s.actionId === id)?.state).to.equal('installed');
    });

    it('moves the current state only forward: by time, ties by report id', async () => {
      const id = 'd/p@1/install';
      await store.ingestReports('h', [report('m', id, 'installing', 5)], t0);
      // Older: history only.
      expect(await store.ingestReports('h', [report('z', id, 'pending', 4)], t0)).to.deep.equal({ accepted: 1, duplicates: 0, advanced: [] });
      // Same time, smaller id: stays.
      expect((await store.ingestReports('h', [report('a', id, 'failed', 5)], t0)).advanced).to.deep.equal([]);
      // Same time, greater id: moves.
      expect((await store.ingestReports('h', [report('n', id, 'installed', 5)], t0)).advanced).to.deep.equal([{ actionId: id, state: 'installed' }]);
      // An offset time is compared as the instant it is.
      expect((await store.ingestReports('h', [{ ...report('b', id, 'failed', 0), at: '2026-12-01T09:00:06+09:00' }], t0)).advanced).to.deep.equal([
        { actionId: id, state: 'failed' },
      ]);
      // Within one batch the newest wins, whatever the order.
      const other = 'd/q@1/install';
      expect((await store.ingestReports('h', [report('x2', other, 'installed', 9), report('x1', other, 'installing', 8)], t0)).advanced).to.deep.equal([
        { actionId: other, state: 'installed' },
      ]);

      expect((await store.history('h', id)).map((r) => [r.id, r.state, r.at])).to.deep.equal([
        ['z', 'pending', at(4).toISOString()],
        ['a', 'failed', at(5).toISOString()],
        ['m', 'installing', at(5).toISOString()],
        ['n', 'installed', at(5).toISOString()],
        ['b', 'failed', at(6).toISOString()],
      ]);
      expect((await store.history('h', id))[0]).to.deep.equal({ ...report('z', id, 'pending', 4), host: 'h', receivedAt: t0.toISOString() });
      // Reports alone count nothing: status comes from plans (see the plan-action tests).
      expect(await store.countStates()).to.deep.equal([]);
      expect((await store.currentStates({ deployment: 'd', state: 'failed' })).map((s) => s.actionId)).to.deep.equal([id]);
      expect(await store.currentStates({ host: 'other' })).to.deep.equal([]);
    });

    it('counts every action of current plans once: reported state, else planned status; stale states are history only', async () => {
      const install = 'toolbox/jq@1.7/install',
        uninstall = 'toolbox/jq@1.7/uninstall',
        editor = 'editor/ed@2/install';
      await store.savePlans(
        [
          { host: 'h1', hash: '1a', body: planWith('h1', action(install), action(editor, 'not-applicable', 'disk free 1 GiB < 2 GiB')), revision: 'r1' },
          { host: 'h2', hash: '2a', body: planWith('h2', action(install)), revision: 'r1' },
          { host: 'h3', hash: '3a', body: planWith('h3', action(install, 'blocked', 'conflicts with tools')), revision: 'r1' },
          { host: 'h4', hash: '4a', body: planWith('h4', action(install, 'unknown'), action(editor, 'waiting', 'window nightly')), revision: 'r1' },
        ],
        t0,
      );
      expect(await database.rows("select host, action_id, planned_status, reason, since_serial from plan_actions where host = 'h1' order by action_id")).to.deep.equal([
        { host: 'h1', action_id: editor, planned_status: 'not-applicable', reason: 'disk free 1 GiB < 2 GiB', since_serial: 1 },
        { host: 'h1', action_id: install, planned_status: 'planned', reason: null, since_serial: 1 },
      ]);
      // Nobody reported yet: planned and unknown read pending; the others as themselves.
      expect(await store.countStates()).to.deep.equal([
        { deployment: 'editor', state: 'not-applicable', count: 1 },
        { deployment: 'editor', state: 'waiting', count: 1 },
        { deployment: 'toolbox', state: 'blocked', count: 1 },
        { deployment: 'toolbox', state: 'pending', count: 3 },
      ]);
      const installed = report('i1', install, 'installed', 1);
      await store.ingestReports('h1', [installed], at(1));
      await store.ingestReports('h2', [report('i2', install, 'failed', 1, { reason: 'exit 3', exitCode: 3 })], at(1));
      // A report on an action in no plan of that host is history only.
      await store.ingestReports('h3', [report('x3', 'gone/old@1/install', 'failed', 1)], at(1));
      expect(await store.countStates({ deployment: 'toolbox' })).to.deep.equal([
        { deployment: 'toolbox', state: 'blocked', count: 1 },
        { deployment: 'toolbox', state: 'failed', count: 1 },
        { deployment: 'toolbox', state: 'installed', count: 1 },
        { deployment: 'toolbox', state: 'pending', count: 1 },
      ]);
      expect(await store.countStates({ host: 'h1' })).to.deep.equal([
        { deployment: 'editor', state: 'not-applicable', count: 1 },
        { deployment: 'toolbox', state: 'installed', count: 1 },
      ]);
      expect(await store.actionStatuses({ host: 'h1' })).to.deep.equal([
        {
          host: 'h1',
          actionId: editor,
          deployment: 'editor',
          package: 'ed',
          version: '2',
          op: 'install',
          plannedStatus: 'not-applicable',
          plannedReason: 'disk free 1 GiB < 2 GiB',
          state: 'not-applicable',
        },
        { host: 'h1', actionId: install, deployment: 'toolbox', package: 'jq', version: '1.7', op: 'install', plannedStatus: 'planned', state: 'installed', report: installed },
      ]);

      // state: absent: the install action leaves h1's and h2's plans, an uninstall takes its place.
      await store.savePlans(
        [
          { host: 'h1', hash: '1b', body: planWith('h1', action(uninstall), action(editor, 'not-applicable', 'disk free 1 GiB < 2 GiB')), revision: 'r2' },
          { host: 'h2', hash: '2b', body: planWith('h2', action(uninstall)), revision: 'r2' },
        ],
        at(2),
      );
      expect(await store.countStates({ deployment: 'toolbox' })).to.deep.equal([
        { deployment: 'toolbox', state: 'blocked', count: 1 },
        { deployment: 'toolbox', state: 'pending', count: 3 },
      ]);
      await store.ingestReports('h1', [{ ...report('u1', uninstall, 'uninstalled', 3), serial: 2 }], at(3));
      expect(await store.countStates({ deployment: 'toolbox' })).to.deep.equal([
        { deployment: 'toolbox', state: 'blocked', count: 1 },
        { deployment: 'toolbox', state: 'pending', count: 2 },
        { deployment: 'toolbox', state: 'uninstalled', count: 1 },
      ]);
      expect(await store.actionStatuses({ state: 'failed' })).to.deep.equal([]);
      // The old install's states stay in the history and in the reported states.
      expect((await store.history('h1', install)).map((r) => r.state)).to.deep.equal(['installed']);
      expect((await store.currentStates({ host: 'h2' })).map((s) => s.state)).to.deep.equal(['failed']);

      // Back to present: the install returns at serial 3; its report of serial 1 no longer counts.
      await store.savePlans(
        [{ host: 'h1', hash: '1c', body: planWith('h1', action(install), action(editor, 'not-applicable', 'disk free 1 GiB < 2 GiB')), revision: 'r3' }],
        at(4),
      );
      expect((await store.actionStatuses({ host: 'h1', deployment: 'toolbox' })).map((s) => [s.actionId, s.state])).to.deep.equal([[install, 'pending']]);
      expect(await database.rows("select action_id, since_serial from plan_actions where host = 'h1' order by action_id")).to.deep.equal([
        { action_id: editor, since_serial: 1 },
        { action_id: install, since_serial: 3 },
      ]);
      // A report made for a later serial counts; an action that stays in the plan keeps its report across serials.
      await store.ingestReports('h1', [{ ...report('i3', install, 'installed', 5), serial: 3 }], at(5));
      await store.savePlans([{ host: 'h1', hash: '1d', body: planWith('h1', action(install), action(editor)), revision: 'r4' }], at(6));
      expect((await store.actionStatuses({ host: 'h1' })).map((s) => [s.actionId, s.plannedStatus, s.state])).to.deep.equal([
        [editor, 'planned', 'pending'],
        [install, 'planned', 'installed'],
      ]);
    });

    it('lists a deployment’s targeted hosts, reported or not, filtered by state, and pages statuses by host', async () => {
      const id = 'd/p@1/install';
      const entries = ['h3', 'h1', 'h2', 'h4'].map((host) => ({ host, hash: host, body: planWith(host, action(id)), revision: 'r1' }));
      entries.push({ host: 'h5', hash: 'h5', body: planWith('h5', action('other/p@1/install')), revision: 'r1' });
      await store.savePlans(entries, t0);
      await store.ingestReports('h2', [report('a', id, 'failed', 1)], t0);
      await store.ingestReports('h3', [report('b', id, 'installed', 1)], t0);
      expect(await store.deploymentHosts('d')).to.deep.equal(['h1', 'h2', 'h3', 'h4']);
      expect(await store.deploymentHosts('d', { state: 'pending' })).to.deep.equal(['h1', 'h4']);
      expect(await store.deploymentHosts('d', { state: 'failed' })).to.deep.equal(['h2']);
      expect(await store.deploymentHosts('nope')).to.deep.equal([]);
      expect((await store.actionStatuses({ deployment: 'd', hosts: ['h4', 'h3', 'h5'] })).map((s) => [s.host, s.state])).to.deep.equal([
        ['h3', 'installed'],
        ['h4', 'pending'],
      ]);
      expect(await store.actionStatuses({ hosts: [] })).to.deep.equal([]);
      expect((await store.actionStatuses({ state: 'pending', limit: 1 })).map((s) => s.host)).to.deep.equal(['h1']);
      expect((await store.actionStatuses({ limit: 3 })).map((s) => s.host)).to.deep.equal(['h1', 'h2', 'h3']);
      // A plan without the deployment's action takes the host out of it.
      await store.savePlans([{ host: 'h4', hash: 'h4b', body: planWith('h4'), revision: 'r2' }], at(1));
      expect(await store.deploymentHosts('d')).to.deep.equal(['h1', 'h2', 'h3']);
    });

    it('backfills plan actions from stored plans when migrating to 0003', async () => {
      const id = 'd/p@1/install';
      await store.savePlans([{ host: 'h1', hash: 'x', body: planWith('h1', action(id, 'not-applicable', 'too small')), revision: 'r1' }], t0);
      await store.savePlans([{ host: 'h1', hash: 'y', body: planWith('h1', action(id, 'not-applicable', 'too small'), action('d/q@1/install')), revision: 'r2' }], at(1));
      await store.ingestReports('h1', [report('a', 'd/q@1/install', 'installed', 1)], t0);
      await store.close();
      // Back to a database at 0002: the later migrations undone.
      await database.run(
        `drop table plan_actions; drop index reports_received_at; alter table enrollment_tokens drop column revoked_at; alter table deployment_overrides drop column git_suspended; drop index plans_generated_at; drop table replicas; delete from kysely_migration where name in ('0003-plan-actions', '0004-reports-received-at', '0005-token-revoked', '0006-override-git-suspended', '0007-plans-generated-at', '0008-replicas')`,
      );
      store = await openStore(database.url, database.options);
      expect(
        await database.rows('select host, action_id, deployment, package, version, op, planned_status, reason, since_serial from plan_actions order by action_id'),
      ).to.deep.equal([
        { host: 'h1', action_id: id, deployment: 'd', package: 'p', version: '1', op: 'install', planned_status: 'not-applicable', reason: 'too small', since_serial: 0 },
        { host: 'h1', action_id: 'd/q@1/install', deployment: 'd', package: 'q', version: '1', op: 'install', planned_status: 'planned', reason: null, since_serial: 0 },
      ]);
      expect(await store.countStates()).to.deep.equal([
        { deployment: 'd', state: 'installed', count: 1 },
        { deployment: 'd', state: 'not-applicable', count: 1 },
      ]);
    });

    it('keeps installed records from reports, with the deployment’s last known onLeave', async () => {
      await store.recordDeploymentPolicies([{ deployment: 'editor', onLeave: 'uninstall' }], t0);
      await store.ingestReports('h1', [report('1', 'editor/text-editor@2.4.0/install', 'installed', 1)], t0);
      await store.ingestReports('h2', [report('2', 'editor/text-editor@2.4.0/install', 'failed', 1)], t0);
      await store.ingestReports('h2', [report('3', 'tools/jq@1.7/install', 'installed', 1)], t0);
      expect(await store.listInstalled()).to.deep.equal([
        { host: 'h1', deployment: 'editor', package: 'text-editor', version: '2.4.0', onLeave: 'uninstall', installedAt: at(1).toISOString() },
        { host: 'h2', deployment: 'tools', package: 'jq', version: '1.7', onLeave: 'keep', installedAt: at(1).toISOString() },
      ]);
      // An upgrade replaces the version; an uninstall by any deployment removes the record.
      await store.ingestReports('h1', [report('4', 'editor/text-editor@2.4.1/install', 'installed', 2)], t0);
      await store.ingestReports('h2', [report('5', 'cleanup/jq@1.7/uninstall', 'uninstalled', 2)], t0);
      await store.recordDeploymentPolicies([{ deployment: 'editor', onLeave: 'keep' }], at(3));
      expect(await store.listInstalled()).to.deep.equal([
        { host: 'h1', deployment: 'editor', package: 'text-editor', version: '2.4.1', onLeave: 'keep', installedAt: at(2).toISOString() },
      ]);
      expect(await store.listInstalled({ host: 'h2' })).to.deep.equal([]);
      // One batch that removes and then reinstalls a version ends installed (time order, not batch order).
      await store.ingestReports('h2', [report('7', 'tools/jq@1.7/install', 'installed', 9), report('6', 'cleanup/jq@1.7/uninstall', 'uninstalled', 8)], t0);
      expect(await store.listInstalled({ host: 'h2' })).to.deep.equal([
        { host: 'h2', deployment: 'tools', package: 'jq', version: '1.7', onLeave: 'keep', installedAt: at(9).toISOString() },
      ]);
      expect((await store.listInstalled({ deployment: 'editor' })).length).to.equal(1);
      expect(await store.listInstalled({ hosts: ['h2', 'h9', 'h1'] })).to.deep.equal([
        { host: 'h1', deployment: 'editor', package: 'text-editor', version: '2.4.1', onLeave: 'keep', installedAt: at(2).toISOString() },
        { host: 'h2', deployment: 'tools', package: 'jq', version: '1.7', onLeave: 'keep', installedAt: at(9).toISOString() },
      ]);
      expect(await store.listInstalled({ hosts: ['h2'], deployment: 'editor' })).to.deep.equal([]);
    });

    it("remembers git's spec.suspended with an override, so a later change in git can supersede it", async () => {
      expect(await store.setSuspended('editor', false, 'admin', t0, undefined, false)).to.deep.equal({
        deployment: 'editor',
        suspended: false,
        by: 'admin',
        at: t0.toISOString(),
        gitSuspended: false,
      });
      const [o] = await store.listOverrides();
      expect(o).to.deep.equal({ deployment: 'editor', suspended: false, by: 'admin', at: t0.toISOString(), gitSuspended: false });
      expect([overrideInForce(o!, false), overrideInForce(o!, true), overrideInForce(o!, undefined)]).to.deep.equal([true, false, true]);
      await store.setSuspended('editor', true, 'ops', at(1));
      expect(await store.listOverrides()).to.deep.equal([{ deployment: 'editor', suspended: true, by: 'ops', at: at(1).toISOString() }]);
    });

    it('stores operator suspend and resume overrides', async () => {
      expect(await store.setSuspended('editor', true, 'admin', t0)).to.deep.equal({ deployment: 'editor', suspended: true, by: 'admin', at: t0.toISOString() });
      await store.setSuspended('tools', true, 'admin', t0);
      await store.setSuspended('editor', false, 'ops', at(1));
      expect(await store.listOverrides()).to.deep.equal([
        { deployment: 'editor', suspended: false, by: 'ops', at: at(1).toISOString() },
        { deployment: 'tools', suspended: true, by: 'admin', at: t0.toISOString() },
      ]);
      await store.clearOverride('tools');
      expect((await store.listOverrides()).map((o) => o.deployment)).to.deep.equal(['editor']);
      // The controller's own suspension carries its reason; an operator's resume replaces it.
      expect(await store.setSuspended('rollout', true, 'ferry:rollout', at(2), '3 of 10 hosts failed')).to.deep.equal({
        deployment: 'rollout',
        suspended: true,
        by: 'ferry:rollout',
        at: at(2).toISOString(),
        reason: '3 of 10 hosts failed',
      });
      expect((await store.listOverrides())[1]).to.deep.equal({
        deployment: 'rollout',
        suspended: true,
        by: 'ferry:rollout',
        at: at(2).toISOString(),
        reason: '3 of 10 hosts failed',
      });
      await store.setSuspended('rollout', false, 'ops', at(3));
      expect((await store.listOverrides())[1]).to.deep.equal({ deployment: 'rollout', suspended: false, by: 'ops', at: at(3).toISOString() });
    });

    it('keeps the last applied revision in force when a later one is rejected', async () => {
      expect(await store.recordSourceAttempt({ revision: 'main@sha1:aaa', ok: true, at: t0 })).to.deep.equal({
        lastAppliedRevision: 'main@sha1:aaa',
        lastAppliedAt: t0.toISOString(),
        lastAttemptedRevision: 'main@sha1:aaa',
        lastAttemptedAt: t0.toISOString(),
        lastAttemptOk: true,
      });
      const problems = [{ file: 'deploy.yaml', line: 3, col: 5, severity: 'error' as const, message: 'unknown package text-editor@9' }];
      await store.recordSourceAttempt({ revision: 'main@sha1:bbb', ok: false, problems, at: at(1) });
      expect(await store.getSourceStatus()).to.deep.equal({
        lastAppliedRevision: 'main@sha1:aaa',
        lastAppliedAt: t0.toISOString(),
        lastAttemptedRevision: 'main@sha1:bbb',
        lastAttemptedAt: at(1).toISOString(),
        lastAttemptOk: false,
        rejected: { revision: 'main@sha1:bbb', at: at(1).toISOString(), problems },
      });
      await store.recordSourceAttempt({ revision: 'main@sha1:ccc', ok: true, at: at(2) });
      expect(await store.getSourceStatus()).to.deep.equal({
        lastAppliedRevision: 'main@sha1:ccc',
        lastAppliedAt: at(2).toISOString(),
        lastAttemptedRevision: 'main@sha1:ccc',
        lastAttemptedAt: at(2).toISOString(),
        lastAttemptOk: true,
      });
    });

    it('elects exactly one leader among stores on one database; another takes over when it closes', async () => {
      const other = await open();
      const third = await open();
      const first = [await store.tryAcquireLeadership(), await other.tryAcquireLeadership(), await third.tryAcquireLeadership()];
      expect(first).to.deep.equal([true, false, false]);
      expect(await store.tryAcquireLeadership()).to.equal(true);
      await store.close();
      expect([await other.tryAcquireLeadership(), await third.tryAcquireLeadership()]).to.deep.equal([true, false]);
      await other.releaseLeadership();
      expect([await third.tryAcquireLeadership(), await other.tryAcquireLeadership()]).to.deep.equal([true, false]);
    });

    it('hands leadership over when the leader process is killed', async () => {
      const storeModule = new URL('../../../controller/store/index.ts', import.meta.url).href;
      const script = `
        const { openStore } = await import(${JSON.stringify(storeModule)});
        const store = await openStore(process.env.URL, JSON.parse(process.env.OPTIONS));
        console.log(await store.tryAcquireLeadership() ? 'leader' : 'follower');
        // The timer keeps the store reachable: a collected store's SQLite connection closes and frees the lock.
        setInterval(() => store, 1000);`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, URL: database.url, OPTIONS: JSON.stringify(database.options) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        const [line] = (await once(child.stdout.setEncoding('utf8'), 'data')) as [string];
        expect(line.trim()).to.equal('leader');
        expect(await store.tryAcquireLeadership()).to.equal(false);
      } finally {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      let leader = false;
      for (let i = 0; i < 50 && !leader; i++) {
        leader = await store.tryAcquireLeadership();
        if (!leader) await new Promise((r) => setTimeout(r, 100));
      }
      expect(leader).to.equal(true);
    });
  });
}

describe('controller/store URLs', () => {
  const cases = [
    { url: 'sqlite:/var/lib/ferry/ferry.db', want: { dialect: 'sqlite', file: '/var/lib/ferry/ferry.db' } },
    { url: 'sqlite:///var/lib/ferry/ferry.db', want: { dialect: 'sqlite', file: '/var/lib/ferry/ferry.db' } },
    { url: '/data/ferry.db', want: { dialect: 'sqlite', file: '/data/ferry.db' } },
    { url: 'sqlite::memory:', want: { dialect: 'sqlite', file: undefined } },
    { url: 'postgres://u@db:5432/ferry', want: { dialect: 'postgres', url: 'postgres://u@db:5432/ferry' } },
    { url: 'postgresql://u@db/ferry', want: { dialect: 'postgres', url: 'postgresql://u@db/ferry' } },
  ];
  for (const c of cases) it(`reads ${c.url}`, () => expect(parseStoreUrl(c.url)).to.deep.equal(c.want));
  it('refuses other databases with the forms that work', () => {
    expect(() => parseStoreUrl('mysql://db/ferry')).to.throw(/unsupported database URL mysql:\/\/db\/ferry: use sqlite:/);
  });
  it('works in memory', async () => {
    const store = await openStore('sqlite::memory:');
    expect(await store.tryAcquireLeadership()).to.equal(true);
    await store.close();
  });
});
