/** The executor over fake seams and a real journal: what it records, what it runs, and when — no processes, no sleeps. */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock, type ManualClock } from '../../../lib/clock.js';
import type { Inventory, Plan, PlanAction } from '../../../core/plan/types.js';
import { Journal } from '../../../agent/journal/journal.js';
import { recoverInterrupted } from '../../../agent/journal/recovery.js';
import { MemorySink } from '../../../agent/log/events.js';
import { Executor } from '../../../agent/runner/executor.js';
import type { CommandOutcome } from '../../../agent/runner/installer.js';
import { Reporter } from '../../../agent/runner/reporter.js';
import { dirOf, exited, FakeDownloader, FakeInstaller, FakeUnpacker } from './fakes.js';

const start = Date.parse('2026-12-01T10:00:00Z');
const at = (min: number) => new Date(start + min * 60_000).toISOString();
const cmd = (...command: string[]) => ({ command, timeoutMs: 60_000, env: {} });
const inventory: Inventory = { host: 'h', facts: { os: { platform: 'linux' } }, labels: {}, software: [] };

function act(name: string, over: Partial<PlanAction> = {}): PlanAction {
  const op = over.op ?? 'install';
  return {
    id: `dep/${name}@1.0.0/${op}`,
    deployment: 'dep',
    package: name,
    version: '1.0.0',
    op,
    status: 'planned',
    blockedBy: [],
    artifact: { sha256: name.padEnd(64, '0'), size: 1000 },
    install: cmd('sh', 'install.sh'),
    uninstall: cmd('sh', 'uninstall.sh'),
    conditions: [],
    distribute: { multicast: false, wake: false },
    shutdownAfter: false,
    suspended: false,
    ...over,
  };
}
const plan = (serial: number, actions: PlanAction[], expiresAt = at(24 * 60)): Plan => ({
  host: 'h',
  serial,
  revision: 'main@sha1:abc',
  generatedAt: at(0),
  expiresAt,
  sources: [],
  actions,
});

describe('agent/runner/executor: carrying plans out through the seams', () => {
  let data: string;
  let journal: Journal;
  let clock: ManualClock;
  let reporter: Reporter;
  let downloader: FakeDownloader;
  let unpacker: FakeUnpacker;
  let installer: FakeInstaller;
  let events: MemorySink;
  let latest: Plan | undefined;
  let stopping: boolean;

  beforeEach(() => {
    data = mkdtempSync(join(tmpdir(), 'ferry-executor-'));
    clock = manualClock(start);
    journal = Journal.open(data, { clock });
    reporter = new Reporter(journal, () => undefined, clock);
    downloader = new FakeDownloader();
    unpacker = new FakeUnpacker();
    installer = new FakeInstaller();
    events = new MemorySink();
    latest = undefined;
    stopping = false;
  });
  afterEach(() => {
    journal.close();
    rmSync(data, { recursive: true, force: true });
  });

  const executor = () =>
    new Executor({ reporter, downloader, unpacker, installer, clock, inventory: async () => inventory, events, latestPlan: () => latest, stopping: () => stopping });
  /** Applies `p` as the newest plan; its outcomes by action id. */
  async function pass(p: Plan) {
    latest ??= p;
    const r = await executor().pass(p);
    return { outcomes: Object.fromEntries(r.outcomes), shutdownDue: r.shutdownDue };
  }
  /** The queued reports (without id and time), and the queue emptied. */
  function reports() {
    const all = journal.pendingReports();
    journal.ackReports(all.map((r) => r.id));
    return all.map(({ id: _id, at: _at, ...r }) => r);
  }

  it('installs: downloading, downloaded, installing, installed — and a second pass changes nothing', async () => {
    const p = plan(1, [act('editor', { shutdownAfter: true })]);
    expect(await pass(p)).to.deep.equal({ outcomes: { 'dep/editor@1.0.0/install': 'done' }, shutdownDue: true });
    const id = 'dep/editor@1.0.0/install';
    expect(reports()).to.deep.equal([
      { actionId: id, serial: 1, state: 'downloading', bytesDone: 0 },
      { actionId: id, serial: 1, state: 'downloaded', bytesDone: 1000, reason: 'sha256 verified; from controller' },
      { actionId: id, serial: 1, state: 'installing' },
      { actionId: id, serial: 1, state: 'installed', exitCode: 0, output: '', custody: { revision: 'main@sha1:abc', sha256: `editor${'0'.repeat(58)}` } },
    ]);
    expect(installer.runs).to.deep.equal([{ command: 'sh install.sh', dir: '/data/packages/editor/1.0.0' }]);
    expect(journal.software()).to.deep.equal([{ name: 'editor', version: '1.0.0', source: 'ferry' }]);
    expect(await pass(p)).to.deep.equal({ outcomes: { [id]: 'done' }, shutdownDue: true });
    expect(reports()).to.deep.equal([]);
    expect(installer.runs).to.have.length(1);
  });

  it('a download failure is retried on the next pass; an install failure waits for a new serial', async () => {
    const a = act('editor');
    const id = a.id;
    downloader.failures.set(a.artifact.sha256, ['all 1 source(s) failed; last: controller: HTTP 503']);
    installer.answer = () => exited(7, 'installer of editor fails on purpose');
    const p1 = plan(1, [a]);
    expect(await pass(p1)).to.deep.equal({ outcomes: { [id]: 'failed' }, shutdownDue: false });
    expect(journal.action(id)).to.include({ phase: 'failed', retry: 'next-pass' });
    expect(await pass(p1)).to.deep.equal({ outcomes: { [id]: 'failed' }, shutdownDue: false });
    expect(journal.action(id)).to.include({ phase: 'failed', retry: 'new-serial', reason: 'install exited with code 7' });
    expect(await pass(p1)).to.deep.equal({ outcomes: { [id]: 'failed' }, shutdownDue: false });
    expect(reports().map((r) => [r.state, r.reason ?? '', r.exitCode ?? ''])).to.deep.equal([
      ['downloading', '', ''],
      ['failed', 'download failed: all 1 source(s) failed; last: controller: HTTP 503', ''],
      ['downloading', '', ''],
      ['downloaded', 'sha256 verified; from controller', ''],
      ['installing', '', ''],
      ['failed', 'install exited with code 7', 7],
    ]);
    expect(installer.runs).to.have.length(1);
    installer.answer = () => exited(0);
    expect(await pass(plan(2, [a]))).to.deep.equal({ outcomes: { [id]: 'done' }, shutdownDue: false });
    expect(installer.runs).to.have.length(2);
    expect(downloader.calls).to.have.length(2);
  });

  it('a crash between "installing" journaled and the installer finishing resumes without running the installer twice', async () => {
    const a = act('security-agent', { detect: cmd('sh', '-c', 'test -f VERSION') });
    const p = plan(1, [a]);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    installer.answer = () => {
      started();
      return new Promise<CommandOutcome>(() => undefined); // the agent dies while the installer runs
    };
    void executor().pass((latest = p));
    await running;
    expect(journal.action(a.id)).to.include({ phase: 'installing', pid: 4242, dir: dirOf(a) });

    // The restarted agent: a pass before recovery leaves it alone...
    reporter = new Reporter(journal, () => undefined, clock);
    installer.answer = () => exited(0);
    expect(await pass(p)).to.deep.equal({ outcomes: { [a.id]: 'pending' }, shutdownDue: false });
    expect(installer.runs).to.have.length(1);
    // ...recovery asks detect, which finds the package: installed, not run again.
    const decisions = await recoverInterrupted(reporter, { detectFor: () => a.detect, detect: async () => true, groupAlive: () => false, clock });
    expect([...decisions]).to.deep.equal([[a.id, 'installed']]);
    expect(await pass(p)).to.deep.equal({ outcomes: { [a.id]: 'done' }, shutdownDue: false });
    expect(installer.runs).to.deep.equal([{ command: 'sh install.sh', dir: dirOf(a) }]);
    expect(reports().map((r) => [r.state, r.reason ?? ''])).to.deep.equal([
      ['downloading', ''],
      ['downloaded', 'sha256 verified; from controller'],
      ['installing', ''],
      ['installed', 'install was interrupted; detect finds the package'],
    ]);
  });

  it('a suspension arriving mid-download pauses at the segment boundary; resuming continues from that byte', async () => {
    const a = act('suite', { distribute: { multicast: false, wake: false, segmentSize: 100 } });
    downloader.onSegment = (done) => {
      if (done === 300) latest = plan(2, [{ ...a, suspended: true }]);
    };
    expect(await pass(plan(1, [a]))).to.deep.equal({ outcomes: { [a.id]: 'pending' }, shutdownDue: false });
    expect(reports()).to.deep.equal([
      { actionId: a.id, serial: 1, state: 'downloading', bytesDone: 0 },
      { actionId: a.id, serial: 1, state: 'suspended', reason: 'deployment dep is suspended; paused at byte 300 of 1000', bytesDone: 300 },
    ]);
    expect(await pass(latest!)).to.deep.equal({ outcomes: { [a.id]: 'pending' }, shutdownDue: false });
    expect(reports()).to.deep.equal([{ actionId: a.id, serial: 2, state: 'suspended', reason: 'deployment dep is suspended', bytesDone: 300 }]);
    expect(downloader.calls).to.deep.equal([{ sha256: a.artifact.sha256, from: 0 }]);
    latest = plan(3, [a]);
    expect(await pass(latest)).to.deep.equal({ outcomes: { [a.id]: 'done' }, shutdownDue: false });
    expect(downloader.calls).to.deep.equal([
      { sha256: a.artifact.sha256, from: 0 },
      { sha256: a.artifact.sha256, from: 300 },
    ]);
    expect(reports()[0]).to.deep.equal({ actionId: a.id, serial: 3, state: 'downloading', bytesDone: 300, reason: 'resuming at byte 300 of 1000' });
    expect(installer.runs).to.have.length(1);
  });

  it('windows follow the clock: waits for the distribution window, then for the install window', async () => {
    const a = act('office', { distribute: { multicast: false, wake: false, windows: [{ start: at(60), end: at(120) }] }, installWindows: [{ start: at(180), end: at(240) }] });
    const p = plan(1, [a]);
    expect(await pass(p)).to.deep.equal({ outcomes: { [a.id]: 'pending' }, shutdownDue: false });
    clock.advance(90 * 60_000);
    expect(await pass(p)).to.deep.equal({ outcomes: { [a.id]: 'pending' }, shutdownDue: false });
    expect(installer.runs).to.deep.equal([]);
    clock.advance(100 * 60_000);
    expect(await pass(p)).to.deep.equal({ outcomes: { [a.id]: 'done' }, shutdownDue: false });
    expect(reports().map((r) => [r.state, r.reason ?? ''])).to.deep.equal([
      ['waiting', `distribution window opens at ${at(60)}`],
      ['downloading', ''],
      ['downloaded', 'sha256 verified; from controller'],
      ['waiting', `downloaded; install window opens at ${at(180)}`],
      ['installing', ''],
      ['installed', ''],
    ]);
  });

  it('download progress is saved every second and reported every ten, by the injected clock', async () => {
    const a = act('big', { artifact: { sha256: 'b'.repeat(64), size: 2000 } });
    downloader.onSegment = () => clock.advance(600);
    await pass(plan(1, [a]));
    expect(
      reports()
        .filter((r) => r.state === 'downloading')
        .map((r) => r.bytesDone),
    ).to.deep.equal([0, 1800]); // progress at 600 ms steps: the 18th segment is 10.2 s in
  });

  it('an expired plan starts nothing and says so once', async () => {
    const p = plan(4, [act('a'), act('b')], at(-1));
    expect(await pass(p)).to.deep.equal({ outcomes: { 'dep/a@1.0.0/install': 'pending', 'dep/b@1.0.0/install': 'pending' }, shutdownDue: false });
    expect(events.events.filter((e) => e.event === 'plan-frozen')).to.deep.equal([
      { event: 'plan-frozen', level: 'warn', serial: 4, message: `plan 4 expired at ${at(-1)}; nothing new starts until a fresh plan arrives` },
    ]);
    expect(reports()).to.deep.equal([]);
    expect(downloader.calls).to.deep.equal([]);
  });

  it('a check program that does not hold: not-applicable, the installer never runs; a blocked action waits for it', async () => {
    const check = cmd('/usr/local/bin/license-check');
    const lic = act('lic', { conditions: [{ name: 'licensed', verdict: 'holds', spec: { check } }] });
    const app = act('app', { blockedBy: [lic.id] });
    installer.answer = (spec) => (spec === check ? exited(4) : exited(0));
    expect(await pass(plan(1, [lic, app]))).to.deep.equal({ outcomes: { [lic.id]: 'skipped', [app.id]: 'pending' }, shutdownDue: false });
    expect(installer.runs).to.deep.equal([{ command: '/usr/local/bin/license-check', dir: dirOf(lic) }]);
    expect(
      reports()
        .filter((r) => r.state !== 'downloading' && r.state !== 'downloaded')
        .map((r) => [r.actionId, r.state, r.reason]),
    ).to.deep.equal([
      [lic.id, 'not-applicable', 'check /usr/local/bin/license-check exited with code 4 (condition licensed)'],
      [app.id, 'waiting', `waiting for ${lic.id}`],
    ]);
  });

  it('uninstalls what Ferry installed, and forgets it', async () => {
    const a = act('tool');
    await pass(plan(1, [a]));
    const u = act('tool', { op: 'uninstall' });
    latest = plan(2, [u]);
    expect(await pass(latest)).to.deep.equal({ outcomes: { [u.id]: 'done' }, shutdownDue: false });
    expect(installer.runs.map((r) => r.command)).to.deep.equal(['sh install.sh', 'sh uninstall.sh']);
    expect(journal.software()).to.deep.equal([]);
    expect(journal.action(u.id)).to.include({ phase: 'uninstalled' });
  });

  it('an agent error fails that action with the reason and goes on with the next', async () => {
    const broken = act('broken');
    const fine = act('fine');
    const kept = downloader.kept.bind(downloader);
    downloader.kept = async (artifact) => {
      if (artifact.sha256 === broken.artifact.sha256) throw new Error('EIO: i/o error, stat');
      return kept(artifact);
    };
    expect(await pass(plan(1, [broken, fine]))).to.deep.equal({ outcomes: { [broken.id]: 'failed', [fine.id]: 'done' }, shutdownDue: false });
    expect(journal.action(broken.id)).to.include({ phase: 'failed', reason: 'agent error: EIO: i/o error, stat', retry: 'new-serial' });
  });
});
