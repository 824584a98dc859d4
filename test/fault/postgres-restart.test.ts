/**
 * PostgreSQL restarted under load: a `ferry controller` on the PostgreSQL of FERRY_TEST_POSTGRES
 * takes a flood of agent reports while the test restarts that server (`pg_ctlcluster VERSION
 * CLUSTER restart`, the cluster found by its port with `pg_lsclusters`). The controller reconnects
 * by itself and loses nothing: every acknowledged report is stored, every batch is acknowledged
 * in the end, and the process is still running and ready.
 *
 * Restarting the server ends every connection to it. Mocha runs the suite serially (one file, one
 * test at a time, no --parallel), so no other test of this run talks to PostgreSQL meanwhile; the
 * test waits until the server accepts connections again before it ends, even when it fails.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { openStore } from '../../controller/store/index.js';
import { ensureBuilt } from '../agent/runtime/build.js';
import { eventually } from '../support/eventually.js';
import { enrollHost, flood, makeManifests, startControllerProcess, type ControllerProcess } from './report-flood.js';

const run = promisify(execFile);
const postgres = process.env.FERRY_TEST_POSTGRES;

/** The local cluster (`pg_lsclusters`) that listens on the URL's port. */
async function clusterOf(url: string): Promise<{ version: string; name: string }> {
  const port = new URL(url).port || '5432';
  const { stdout } = await run('pg_lsclusters', ['--no-header']);
  for (const line of stdout.trim().split('\n')) {
    const [version, name, p] = line.trim().split(/\s+/);
    if (p === port && version && name) return { version, name };
  }
  throw new Error(`no local PostgreSQL cluster on port ${port} (pg_lsclusters: ${stdout.trim()})`);
}

/** Resolves once the server answers a query again. */
async function accepting(url: string, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        await client.query('select 1');
        return true;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    'PostgreSQL to accept connections again',
    timeoutMs,
    200,
  );
}

describe('fault: PostgreSQL restarted under load', function () {
  this.timeout(180_000);
  const schema = `ferry_fault_${process.pid}_${Date.now() % 100000}`;
  let work: string;
  let controller: ControllerProcess | undefined;

  before(async function () {
    if (!postgres) this.skip();
    this.timeout(240_000);
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), 'ferry-fault-pg-'));
  });
  after(async () => {
    if (!postgres) return;
    await controller?.stop();
    const { version, name } = await clusterOf(postgres);
    // Whatever happened above, leave the server running and accepting connections.
    await run('pg_ctlcluster', [version, name, 'start']).catch(() => undefined);
    await accepting(postgres);
    const client = new pg.Client({ connectionString: postgres });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('@postgres the controller reconnects by itself and loses no acknowledged report', async () => {
    const url = postgres!;
    const { version, name } = await clusterOf(url);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create schema if not exists "${schema}"`);
    await admin.end();
    const db = `${url}${url.includes('?') ? '&' : '?'}options=-c%20search_path%3D${schema}`;

    const c = await startControllerProcess({ data: join(work, 'data'), repo: await makeManifests(join(work, 'manifests')), db });
    controller = c;
    const host = 'flood-1';
    const credential = await enrollHost(c.url, c.adminToken, host);

    let restart: Promise<unknown> | undefined;
    let restarted = false;
    let ackedAtRestart = 0;
    let acked = 0;
    const result = await flood({
      url: () => c.url,
      host,
      credential,
      clients: 6,
      batchesPerClient: 0,
      batchSize: 20,
      onFailure: 'until-acked',
      onAck: (n) => {
        acked = n;
        if (n === 20) {
          restart = run('pg_ctlcluster', [version, name, 'restart']).then(() => {
            restarted = true;
            ackedAtRestart = acked;
          });
        }
      },
      // Load before, during and after the restart: go on until 20 more batches are acknowledged after it.
      until: () => c.child.exitCode !== null || (restarted && acked >= ackedAtRestart + 20),
    });
    await restart;
    await accepting(url);

    expect(result.failures.length, 'requests that failed while the server restarted').to.be.greaterThan(0);
    expect(result.batches.filter((b) => !b.acked)).to.deep.equal([]);
    expect(c.child.exitCode, c.log().slice(-2000)).to.equal(null);
    await eventually(async () => (await fetch(`${c.url}/readyz`)).status === 200, 'the controller to be ready');

    const store = await openStore(db);
    try {
      const stored = new Set((await store.history(host)).map((r) => r.id));
      expect(
        [...result.acked].filter((id) => !stored.has(id)),
        'acknowledged but lost',
      ).to.deep.equal([]);
      expect(stored.size).to.equal(result.acked.size);
    } finally {
      await store.close();
    }
  });
});
