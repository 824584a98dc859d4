/**
 * Report ingestion (issue 4's benchmark): results/s into SQLite (a temp file) and PostgreSQL
 * (FERRY_TEST_POSTGRES, or the local server; a throwaway schema). Aim: ≥ 20,000 results/s into SQLite.
 *
 * Two shapes: bulk batches of 200 results (an agent catching up, `ferry results import`), and
 * 10,000 hosts each sending 20 results at once (a fleet reporting). Every host has five actions
 * moving pending → downloading → downloaded → installing → installed, so current states and
 * installed records are written too.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ActionReport } from '../core/plan/types.js';
import { openStore, type OpenStoreOptions } from '../controller/store/index.js';

const HOSTS = 10_000;
const TOTAL = 200_000;
const BULK_BATCH = 200;
const FLEET_BATCH = 20;
const CONCURRENCY = 4;
const STATES: readonly ActionReport['state'][] = ['pending', 'downloading', 'downloaded', 'installing', 'installed'];
const t0 = Date.parse('2026-12-01T00:00:00Z');

interface Batch {
  readonly host: string;
  readonly reports: readonly ActionReport[];
}

/** `count` reports for one host, as `size`-sized batches, starting at report number `from`. */
function hostBatches(host: string, count: number, size: number): Batch[] {
  const reports: ActionReport[] = [];
  for (let i = 0; i < count; i++) {
    const action = i % 5;
    const step = Math.floor(i / 5);
    reports.push({
      id: `${host}-${i}`,
      actionId: `dep-${action}/pkg-${action}@1.0.${step}/install`,
      serial: 1,
      state: STATES[step % STATES.length]!,
      at: new Date(t0 + i * 1000).toISOString(),
      ...(step % STATES.length === 1 && { bytesDone: 4096 * i }),
    });
  }
  const out: Batch[] = [];
  for (let i = 0; i < reports.length; i += size) out.push({ host, reports: reports.slice(i, i + size) });
  return out;
}

const scenarios = [
  {
    name: `bulk: ${TOTAL} results in batches of ${BULK_BATCH}`,
    batches: () => {
      const perHost = BULK_BATCH * 2;
      const out: Batch[] = [];
      for (let h = 0; out.length * BULK_BATCH < TOTAL; h++) out.push(...hostBatches(`host-${String((h * 7919) % HOSTS).padStart(5, '0')}`, perHost, BULK_BATCH));
      return out;
    },
  },
  {
    name: `fleet: ${HOSTS} hosts × ${TOTAL / HOSTS} results, one batch each`,
    batches: () => Array.from({ length: HOSTS }, (_, h) => hostBatches(`host-${String(h).padStart(5, '0')}`, TOTAL / HOSTS, FLEET_BATCH)).flat(),
  },
] as const;

async function measure(url: string, options: OpenStoreOptions, batches: readonly Batch[]): Promise<{ perSecond: number; seconds: number; results: number }> {
  const store = await openStore(url, options);
  try {
    const results = batches.reduce((n, b) => n + b.reports.length, 0);
    let next = 0;
    let accepted = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < batches.length) {
          const b = batches[next++]!;
          const r = await store.ingestReports(b.host, b.reports, new Date());
          accepted += r.accepted;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (accepted !== results) throw new Error(`accepted ${accepted} of ${results} results`);
    return { perSecond: results / seconds, seconds, results };
  } finally {
    await store.close();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function postgresReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function run(): Promise<void> {
  const postgresUrl = process.env.FERRY_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
  const havePostgres = await postgresReachable(postgresUrl);
  for (const scenario of scenarios) {
    const batches = scenario.batches();
    console.log(`\n${scenario.name} (${batches.length} calls, ${CONCURRENCY} concurrent)`);

    const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-ingest-'));
    try {
      const r = await measure(`sqlite:${join(dir, 'ferry.db')}`, {}, batches);
      const verdict = r.perSecond >= 20_000 ? 'meets' : 'BELOW';
      console.log(`  SQLite:     ${fmt(r.perSecond)} results/s (${r.results} in ${r.seconds.toFixed(2)} s) — ${verdict} the 20,000 results/s aim`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    if (!havePostgres) {
      console.log('  PostgreSQL: skipped: no PostgreSQL');
      continue;
    }
    const schema = `ferry_bench_${randomBytes(6).toString('hex')}`;
    try {
      const r = await measure(postgresUrl, { schema }, batches);
      console.log(`  PostgreSQL: ${fmt(r.perSecond)} results/s (${r.results} in ${r.seconds.toFixed(2)} s)`);
    } finally {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  }
}
