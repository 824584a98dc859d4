/**
 * The agent killed (SIGKILL, through lib/crash-point.ts) at every journal step of download,
 * unpack, install, uninstall and report, as real `ferry agent --once` processes against a real
 * controller API: after a restart no installer or uninstaller ran twice (the test package counts
 * its runs in a marker file), the installed payload is the artifact's (no partial file was used),
 * every result is stored by the controller exactly once and the agent's outbox is empty.
 */
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CrashPointName } from '../../lib/crash-point.js';
import type { PlanAction } from '../../core/plan/types.js';
import { ensureBuilt } from '../agent/runtime/build.js';
import { action, packageFiles, startController, type TestController, type TestPackage } from '../agent/runtime/fixture.js';
import { ferryBin } from '../support/ferry.js';

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

interface Row {
  /** `NAME` or `NAME:N`. */
  readonly crashAt: `${CrashPointName}` | `${CrashPointName}:${number}`;
  readonly op: 'install' | 'uninstall';
}

// biome-ignore format: one row per crash point, by phase
const rows: readonly Row[] = [
  { crashAt: 'agent.download.started', op: 'install' },
  { crashAt: 'agent.download.progress', op: 'install' },
  { crashAt: 'agent.download.progress:3', op: 'install' },
  { crashAt: 'agent.download.fetched', op: 'install' },
  { crashAt: 'agent.unpack.done', op: 'install' },
  { crashAt: 'agent.install.before-exec', op: 'install' },
  { crashAt: 'agent.install.after-exec', op: 'install' },
  { crashAt: 'agent.report.before-post', op: 'install' },
  { crashAt: 'agent.report.after-post', op: 'install' },
  // Every journal transaction of an install: downloading, downloaded, installing, installed.
  ...[1, 2, 3, 4].map((n) => ({ crashAt: `agent.journal.committed:${n}` as const, op: 'install' as const })),
  ...[1, 2, 3, 4].map((n) => ({ crashAt: `agent.journal.uncommitted:${n}` as const, op: 'install' as const })),
  { crashAt: 'agent.uninstall.before-exec', op: 'uninstall' },
  { crashAt: 'agent.uninstall.after-exec', op: 'uninstall' },
  { crashAt: 'agent.report.before-post', op: 'uninstall' },
  { crashAt: 'agent.report.after-post', op: 'uninstall' },
  // Every journal transaction of an uninstall: uninstalling (journal only), uninstalled.
  { crashAt: 'agent.journal.committed:1', op: 'uninstall' },
  { crashAt: 'agent.journal.committed:2', op: 'uninstall' },
  { crashAt: 'agent.journal.uncommitted:1', op: 'uninstall' },
];

describe('fault: the agent killed at every journal step', function () {
  this.timeout(120_000);
  let ctl: TestController;
  let token: string;
  let pkg: TestPackage;
  let payloadSha: string;
  let work: string;

  before(async function () {
    this.timeout(240_000);
    await ensureBuilt();
    ctl = await startController();
    token = await ctl.token();
    const files = packageFiles('tool', '1.0.0', 600_000);
    payloadSha = sha256(files['payload.bin'] as Buffer);
    pkg = await ctl.pushPackage('tool', '1.0.0', files);
    work = await mkdtemp(join(tmpdir(), 'ferry-fault-agent-'));
  });
  after(async () => {
    await ctl?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** `ferry agent --once` for `host`, with `crashAt` armed when given. */
  function agent(host: string, crashAt?: string): Promise<Run> {
    const args = [
      'agent',
      '--server',
      ctl.url,
      '--enroll-token',
      token,
      '--name',
      host,
      '--data',
      join(work, host, 'data'),
      '--install-root',
      join(work, host, 'root'),
      '--no-os-packages',
      '--once',
    ];
    const child = spawn(process.execPath, [ferryBin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FERRY_CRASH_AT: crashAt ?? '' } });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
  }

  const lines = (file: string) =>
    readFile(file, 'utf8').then(
      (t) => t.trim().split('\n').filter(Boolean),
      () => [] as string[],
    );

  /** The agent's journal after it exited: reports still queued, and the action's phase. */
  function journal(host: string, actionId: string): { outbox: number; phase: string | undefined } {
    const db = new Database(join(work, host, 'data', 'journal.db'), { readonly: true });
    try {
      const outbox = (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
      const row = db.prepare('SELECT phase FROM actions WHERE action_id = ?').get(actionId) as { phase: string } | undefined;
      return { outbox, phase: row?.phase };
    } finally {
      db.close();
    }
  }

  /** The controller's stored reports for one action: states in order, and how often each report id occurs. */
  async function stored(host: string, actionId: string): Promise<{ states: string[]; ids: string[] }> {
    const history = await ctl.store.history(host, actionId);
    return { states: history.map((r) => r.state), ids: history.map((r) => r.id) };
  }

  rows.forEach((row, i) => {
    it(`${row.op}, killed at ${row.crashAt}: after a restart, one run, the artifact's payload, each result stored once`, async () => {
      const host = `crash-${i}`;
      const install = action(pkg, { distribute: { multicast: false, wake: false, segmentSize: 128 * 1024 } });
      const uninstall: PlanAction = action(pkg, { op: 'uninstall', deployment: 'gone' });
      const root = join(work, host, 'root');
      await ctl.setPlan(host, [install]);
      if (row.op === 'uninstall') {
        const clean = await agent(host);
        expect(clean.code, clean.stderr).to.equal(0);
        await ctl.setPlan(host, [uninstall]);
      }
      const target = row.op === 'install' ? install : uninstall;

      const crashed = await agent(host, row.crashAt);
      expect({ code: crashed.code, signal: crashed.signal }, crashed.stderr).to.deep.equal({ code: null, signal: 'SIGKILL' });
      expect(crashed.stderr).to.contain(`crash point ${row.crashAt.includes(':') ? row.crashAt : `${row.crashAt}:1`} reached`);

      const again = await agent(host);
      expect(again.code, again.stderr).to.equal(0);

      expect(await lines(join(root, 'tool.runs'))).to.deep.equal(['1.0.0']);
      const { states, ids } = await stored(host, target.id);
      expect(new Set(ids).size, 'a report id stored twice').to.equal(ids.length);
      expect(journal(host, target.id)).to.deep.equal({ outbox: 0, phase: row.op === 'install' ? 'installed' : 'uninstalled' });
      if (row.op === 'install') {
        expect(sha256(await readFile(join(root, 'opt/tool/payload.bin'))), 'the installed payload').to.equal(payloadSha);
        expect(states.filter((s) => s === 'installed')).to.have.length(1);
        // A crash between the fetch and its journal entry: the kept file is verified again and the install goes on, without a `downloaded` report.
        expect(
          states.filter((s) => s === 'downloaded'),
          states.join(' '),
        ).to.have.length.at.most(1);
        expect(states.at(-1)).to.equal('installed');
        expect((await ctl.store.currentStates({ host })).map((s) => [s.actionId, s.state])).to.deep.equal([[install.id, 'installed']]);
      } else {
        expect(await lines(join(root, 'tool.uninstalls'))).to.deep.equal(['removed']);
        expect(states).to.deep.equal(['uninstalled']);
        expect((await ctl.store.currentStates({ host })).find((s) => s.actionId === uninstall.id)?.state).to.equal('uninstalled');
      }
    });
  });
});

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
