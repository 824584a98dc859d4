import Database from 'better-sqlite3';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../../core/plan/types.js';
import { Journal } from '../../agent/journal/journal.js';
import { manualClock } from '../../lib/clock.js';
import { commandsIn, recoverInterrupted } from '../../agent/journal/recovery.js';
import { Reporter } from '../../agent/runner/reporter.js';

const fixture = new URL('./fixtures/journal-child.ts', import.meta.url).pathname;
const fixedNow = manualClock('2026-12-01T13:00:00.000Z');
const plan = (serial: number): Plan => ({
  host: 'clt2',
  serial,
  revision: 'main@sha1:abc',
  generatedAt: '2026-12-01T12:00:00Z',
  expiresAt: '2026-12-08T12:00:00Z',
  sources: [],
  actions: [],
  signature: 'sig',
});

describe('agent/journal', () => {
  let data: string;
  let journal: Journal;
  beforeEach(() => {
    data = mkdtempSync(join(tmpdir(), 'ferry-journal-'));
    journal = Journal.open(data, { clock: fixedNow });
  });
  afterEach(() => {
    journal.close();
    rmSync(data, { recursive: true, force: true });
  });
  const reopen = () => {
    journal.close();
    journal = Journal.open(data, { clock: fixedNow });
  };

  it('keeps phases across a reopen, merging partial changes', () => {
    journal.transition({ actionId: 'a', serial: 3, phase: 'downloading', deployment: 'd', package: 'editor', version: '2.4.1', bytesDone: 10 });
    journal.setProgress('a', 500);
    expect(journal.countAttempt('a')).to.equal(1);
    journal.transition({ actionId: 'a', serial: 4, phase: 'downloaded', dir: '/data/packages/editor/2.4.1-9f86d081' });
    reopen();
    expect(journal.action('a')).to.deep.equal({
      actionId: 'a',
      serial: 4,
      phase: 'downloaded',
      deployment: 'd',
      package: 'editor',
      version: '2.4.1',
      bytesDone: 500,
      dir: '/data/packages/editor/2.4.1-9f86d081',
      attempts: 1,
      updatedAt: '2026-12-01T13:00:00.000Z',
    });
    expect(journal.actions('downloaded').map((a) => a.actionId)).to.deep.equal(['a']);
    expect(journal.actions('installing')).to.deep.equal([]);
  });

  it('queues reports with stable ids until they are acknowledged', () => {
    const first = journal.transition({ actionId: 'a', serial: 1, phase: 'installing', pid: 4242 }, { actionId: 'a', serial: 1, state: 'installing' });
    const second = journal.enqueueReport({ actionId: 'a', serial: 1, state: 'failed', exitCode: 3, output: 'boom', reason: 'exited with code 3' });
    expect(first).to.deep.equal({ actionId: 'a', serial: 1, state: 'installing', id: first!.id, at: '2026-12-01T13:00:00.000Z' });
    expect(first!.id).to.match(/^[0-9a-f-]{36}$/);
    reopen();
    expect(journal.pendingReports()).to.deep.equal([first, second]);
    expect(journal.action('a')?.pid).to.equal(4242);
    expect(journal.ackReports([first!.id, 'unknown'])).to.equal(1);
    reopen();
    expect(journal.pendingReports()).to.deep.equal([second]);
    expect(journal.ackReports([second.id, second.id])).to.equal(1);
    expect(journal.pendingReports()).to.deep.equal([]);
  });

  it('records what Ferry installed for the inventory, and forgets it on uninstall', () => {
    journal.markInstalled(
      { actionId: 'd/editor@2.4.1/install', serial: 2 },
      { package: 'editor', version: '2.4.1', deployment: 'd', dir: '/p/editor' },
      { actionId: 'd/editor@2.4.1/install', serial: 2, state: 'installed', exitCode: 0 },
    );
    journal.markInstalled({ actionId: 'd/lib@1.0.0/install', serial: 2 }, { package: 'lib', version: '1.0.0', deployment: 'd', dir: '/p/lib' });
    reopen();
    expect(journal.software()).to.deep.equal([
      { name: 'editor', version: '2.4.1', source: 'ferry' },
      { name: 'lib', version: '1.0.0', source: 'ferry' },
    ]);
    expect(journal.installed()[0]).to.deep.equal({
      package: 'editor',
      version: '2.4.1',
      deployment: 'd',
      dir: '/p/editor',
      installedAt: '2026-12-01T13:00:00.000Z',
      actionId: 'd/editor@2.4.1/install',
    });
    expect(journal.action('d/editor@2.4.1/install')?.phase).to.equal('installed');
    journal.markUninstalled({ actionId: 'd/editor@2.4.1/uninstall', serial: 3 }, 'editor', { actionId: 'd/editor@2.4.1/uninstall', serial: 3, state: 'uninstalled' });
    expect(journal.software()).to.deep.equal([{ name: 'lib', version: '1.0.0', source: 'ferry' }]);
    expect(journal.pendingReports().map((r) => r.state)).to.deep.equal(['installed', 'uninstalled']);
  });

  it('keeps the last good plan and refuses a lower serial', () => {
    expect(journal.lastSerial()).to.equal(0);
    expect(journal.savePlan(plan(5))).to.deep.equal({ saved: true });
    expect(journal.savePlan(plan(4))).to.deep.equal({ saved: false, reason: 'plan serial 4 is lower than the applied 5' });
    expect(journal.savePlan(plan(5))).to.deep.equal({ saved: true });
    reopen();
    expect(journal.lastPlan()).to.deep.equal({ serial: 5, plan: plan(5), appliedAt: '2026-12-01T13:00:00.000Z' });
  });

  it('stores settings', () => {
    journal.set('credential', '/data/credential.json');
    journal.set('credential', '/data/credential2.json');
    reopen();
    expect(journal.get('credential')).to.equal('/data/credential2.json');
    journal.delete('credential');
    expect(journal.get('credential')).to.equal(undefined);
  });

  it('loads a journal written before failures carried their retry, and reads it from the old reason', () => {
    journal.close();
    const old = join(data, 'written-by-v1');
    const raw = (() => {
      mkdirSync(old, { recursive: true });
      return new Database(join(old, 'journal.db'));
    })();
    raw.exec(`CREATE TABLE actions (
       action_id TEXT PRIMARY KEY, serial INTEGER NOT NULL, phase TEXT NOT NULL,
       deployment TEXT, package TEXT, version TEXT, bytes_done INTEGER NOT NULL DEFAULT 0, dir TEXT,
       attempts INTEGER NOT NULL DEFAULT 0, reason TEXT, pid INTEGER, updated_at TEXT NOT NULL);
     CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
     CREATE TABLE installed (package TEXT PRIMARY KEY, version TEXT NOT NULL, deployment TEXT NOT NULL,
       dir TEXT NOT NULL, installed_at TEXT NOT NULL, action_id TEXT NOT NULL);
     CREATE TABLE plan (id INTEGER PRIMARY KEY CHECK (id = 1), serial INTEGER NOT NULL, body TEXT NOT NULL, applied_at TEXT NOT NULL);
     CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     PRAGMA user_version = 1;
     INSERT INTO actions (action_id, serial, phase, reason, updated_at) VALUES
       ('dl', 3, 'failed', 'download failed: all 1 source(s) failed', 't'),
       ('inst', 3, 'failed', 'install exited with code 7', 't'),
       ('ok', 3, 'installed', NULL, 't');`);
    raw.close();
    journal = Journal.open(old, { clock: fixedNow });
    expect(journal.actions().map((a) => [a.actionId, a.phase, a.retry])).to.deep.equal([
      ['dl', 'failed', 'next-pass'],
      ['inst', 'failed', 'new-serial'],
      ['ok', 'installed', undefined],
    ]);
  });

  describe('recovery of interrupted installs', () => {
    const detect = { command: ['true'], timeoutMs: 1000, env: {} };
    const interrupted = (actionId: string, phase: 'installing' | 'uninstalling', pid?: number) =>
      journal.transition({ actionId, serial: 7, phase, deployment: 'd', package: actionId, version: '1.0.0', dir: `/p/${actionId}`, ...(pid ? { pid } : {}) });

    it('without detect: failed, not rerun, with the reason reported', async () => {
      interrupted('nodetect', 'installing');
      interrupted('nodetect-un', 'uninstalling');
      const ran: string[] = [];
      const decisions = await recoverInterrupted(new Reporter(journal), {
        detectFor: () => undefined,
        detect: async (_s, a) => {
          ran.push(a.actionId);
          return true;
        },
      });
      expect([...decisions]).to.deep.equal([
        ['nodetect', 'failed'],
        ['nodetect-un', 'failed'],
      ]);
      expect(ran).to.deep.equal([]);
      expect(journal.action('nodetect')).to.include({ phase: 'failed', reason: 'interrupted during install; not rerun automatically' });
      expect(journal.pendingReports().map((r) => [r.actionId, r.state, r.reason])).to.deep.equal([
        ['nodetect', 'failed', 'interrupted during install; not rerun automatically'],
        ['nodetect-un', 'failed', 'interrupted during uninstall; not rerun automatically'],
      ]);
    });

    it('with detect: decides from what detect finds', async () => {
      interrupted('present', 'installing');
      interrupted('absent', 'installing');
      interrupted('gone', 'uninstalling');
      const decisions = await recoverInterrupted(new Reporter(journal), { detectFor: () => detect, detect: async (_s, a) => a.actionId === 'present' });
      expect([...decisions]).to.deep.equal([
        ['absent', 'reinstall'],
        ['gone', 'uninstalled'],
        ['present', 'installed'],
      ]);
      expect(journal.action('absent')?.phase).to.equal('downloaded');
      expect(journal.software()).to.deep.equal([{ name: 'present', version: '1.0.0', source: 'ferry' }]);
      expect(journal.pendingReports().map((r) => [r.actionId, r.state])).to.deep.equal([
        ['gone', 'uninstalled'],
        ['present', 'installed'],
      ]);
    });

    it('waits for an installer that outlived the agent, and leaves it be while it still runs', async () => {
      interrupted('running', 'installing', 999_999);
      let polls = 0;
      const finishing = await recoverInterrupted(new Reporter(journal), {
        detectFor: () => undefined,
        detect: async () => true,
        groupAlive: () => ++polls < 3,
        pollMs: 1,
      });
      expect([...finishing]).to.deep.equal([['running', 'failed']]);
      interrupted('stuck', 'installing', 999_999);
      const stuck = await recoverInterrupted(new Reporter(journal), { detectFor: () => undefined, detect: async () => true, groupAlive: () => true, waitMs: 20, pollMs: 5 });
      expect([...stuck]).to.deep.equal([['stuck', 'still-running']]);
      expect(journal.action('stuck')?.phase).to.equal('installing');
    });

    it('without a recorded pid, finds the installer by its FERRY_PACKAGE_DIR and waits for it before deciding', async () => {
      const dir = `/p/unrecorded-${process.pid}`;
      // An installer and its child that started before the agent could record the pid.
      const installer = spawn('sh', ['-c', 'sleep 0.8 & wait'], { env: { ...process.env, FERRY_PACKAGE_DIR: dir }, stdio: 'ignore' });
      const exited = new Promise<number>((resolve) => installer.once('exit', () => resolve(Date.now())));
      await new Promise((r) => setTimeout(r, 100));
      expect(await commandsIn(dir)).to.include(installer.pid);
      journal.transition({ actionId: 'unrecorded', serial: 7, phase: 'installing', deployment: 'd', package: 'unrecorded', version: '1.0.0', dir });
      let detectedAt = 0;
      const decisions = await recoverInterrupted(new Reporter(journal), {
        detectFor: () => detect,
        detect: async () => {
          detectedAt = Date.now();
          return true;
        },
        pollMs: 20,
      });
      expect([...decisions]).to.deep.equal([['unrecorded', 'installed']]);
      expect(detectedAt).to.be.at.least(await exited);
      expect(await commandsIn(dir)).to.deep.equal([]);
    });
  });

  it('stays consistent after a real kill -9 of a writer', async function () {
    this.timeout(30_000);
    journal.close();
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, data], { stdio: ['ignore', 'pipe', 'inherit'] });
    let lastSeen = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        lastSeen = Number(d.trim().split('\n').at(-1));
        if (lastSeen >= 300 && !child.killed) child.kill('SIGKILL');
      });
      child.once('exit', () => resolve());
      child.once('error', reject);
    });
    const raw = new Database(join(data, 'journal.db'));
    expect(raw.pragma('integrity_check', { simple: true })).to.equal('ok');
    raw.close();
    journal = Journal.open(data, { clock: fixedNow });
    const reports = journal.pendingReports(1_000_000);
    const committed = reports.length;
    expect(committed).to.be.at.least(lastSeen);
    expect(reports.map((r) => r.serial)).to.deep.equal(Array.from({ length: committed }, (_, i) => i + 1));
    const maxSerial = Math.max(...journal.actions().map((a) => a.serial));
    expect(maxSerial).to.equal(committed);
    const last = journal.action(`d/pkg-${committed % 7}@1.0.0/install`);
    expect(last).to.include({ serial: committed, bytesDone: committed * 10 });
  });
});
