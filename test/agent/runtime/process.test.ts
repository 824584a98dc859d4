/** `ferry agent` as real processes against a real controller API: exit codes, kill -9 mid-download and mid-install. */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ferryBin, runFerry } from '../../support/ferry.js';
import { ensureBuilt } from './build.js';
import { eventually } from '../../support/eventually.js';
import { action, packageFiles, startController, type TestController } from './fixture.js';

describe('agent runtime: `ferry agent` processes', function () {
  this.timeout(90_000);
  let ctl: TestController;
  let work: string;
  let token: string;
  const host = 'clt9';

  before(async function () {
    this.timeout(180_000);
    await ensureBuilt();
  });
  beforeEach(async () => {
    ctl = await startController();
    work = await mkdtemp(join(tmpdir(), 'ferry-agent-proc-'));
    token = await ctl.token();
  });
  afterEach(async () => {
    await ctl.close();
    await rm(work, { recursive: true, force: true });
  });

  const args = (extra: string[] = []) => [
    'agent',
    '--server',
    ctl.url,
    '--enroll-token',
    token,
    '--name',
    host,
    '--data',
    join(work, 'data'),
    '--install-root',
    join(work, 'root'),
    '--no-os-packages',
    '--once',
    ...extra,
  ];
  const states = async () => Object.fromEntries((await ctl.store.currentStates({ host })).map((s) => [s.actionId, s.report]));
  const runs = (name: string) =>
    readFile(join(work, 'root', `${name}.runs`), 'utf8').then(
      (t) => t.trim().split('\n'),
      () => [] as string[],
    );

  function start(extra: string[] = []): ChildProcess {
    return spawn(process.execPath, [ferryBin, ...args(extra)], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  it('--once: JSON log lines, exit 0; unreachable controller exit 3; host name taken exit 3 with what to do', async () => {
    const p = await ctl.pushPackage('runtime-lib', '1.2.0', packageFiles('runtime-lib', '1.2.0'));
    const first = await runFerry(args());
    expect(first.code, first.stderr).to.equal(0);
    await ctl.setPlan(host, [action(p)]);
    const second = await runFerry(args());
    expect(second.code, second.stderr).to.equal(0);
    const events = second.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    expect(events.map((e) => e.event)).to.include.members(['plan-accepted', 'download-started', 'install-finished']);
    expect((await states())['dep/runtime-lib@1.2.0/install']?.state).to.equal('installed');

    const other = await runFerry([...args(), '--data', join(work, 'data-other')]);
    expect(other.code).to.equal(3);
    expect(other.stderr).to.contain(`ask an admin to reset host ${host}`);

    const down = await runFerry(['agent', '--server', 'http://127.0.0.1:9', '--data', join(work, 'data'), '--no-os-packages', '--once']);
    expect(down.code, down.stderr).to.equal(3);
  });

  it('kill -9 mid-download: the restarted agent resumes with Range and fetches fewer bytes than the whole', async () => {
    const p = await ctl.pushPackage('cad', '2026.1.0', packageFiles('cad', '2026.1.0', 1_200_000));
    const segment = 128 * 1024;
    expect(await runFerry(args()).then((r) => r.code)).to.equal(0);
    await ctl.setPlan(host, [action(p, { distribute: { multicast: false, wake: false, segmentSize: segment, segmentPauseMs: 200 } })]);
    const child = start();
    await eventually(() => ctl.content.filter((c) => c.status === 206).length >= 3, 'three segments served');
    child.kill('SIGKILL');
    await exited(child);
    const before = ctl.content.length;
    const again = await runFerry(args());
    expect(again.code, again.stderr).to.equal(0);
    const after = ctl.content.slice(before);
    const fetched = after.reduce((n, c) => n + c.bytes, 0);
    expect(fetched).to.be.greaterThan(0);
    expect(fetched).to.be.lessThan(p.size);
    expect(after[0]?.range).to.match(/^bytes=[1-9]\d*-/);
    expect((await states())['dep/cad@2026.1.0/install']?.state).to.equal('installed');
    expect(await runs('cad')).to.deep.equal(['2026.1.0']);
  });

  it('kill -9 mid-install: after restart the installer is not run a second time, and the install is reported', async () => {
    const p = await ctl.pushPackage('security-agent', '5.2.0', packageFiles('security-agent', '5.2.0', 1000, { sleep: 2 }));
    expect(await runFerry(args()).then((r) => r.code)).to.equal(0);
    await ctl.setPlan(host, [action(p)]);
    const child = start();
    await eventually(async () => (await runs('security-agent')).length === 1, 'the installer started');
    child.kill('SIGKILL');
    await exited(child);
    const again = await runFerry(args());
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stderr).to.contain('"event":"recovered"');
    expect(await runs('security-agent')).to.deep.equal(['5.2.0']);
    expect((await readFile(join(work, 'root/opt/security-agent/VERSION'), 'utf8')).trim()).to.equal('5.2.0');
    const history = (await ctl.store.history(host, 'dep/security-agent@5.2.0/install')).map((r) => r.state);
    expect(history.at(-1)).to.equal('installed');
    expect(history.filter((s) => s === 'installed')).to.have.length(1);
  });
  it('on a terminal: a progress bar for the download, then readable lines (under a pseudo-terminal)', async () => {
    const p = await ctl.pushPackage('cad', '2026.1.0', packageFiles('cad', '2026.1.0', 1_200_000));
    expect(await runFerry(args()).then((r) => r.code)).to.equal(0);
    await ctl.setPlan(host, [action(p, { distribute: { multicast: false, wake: false, segmentSize: 128 * 1024, segmentPauseMs: 150 } })]);
    // util-linux `script` runs the agent with a pty as its terminal and copies what it shows.
    const command = [process.execPath, ferryBin, ...args()].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout!.on('data', (d) => (screen += d));
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c))); // after the output
    expect(code, screen).to.equal(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the terminal's escape sequences
    const text = screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(text).to.match(/ cad 2026\.1\.0 \[[\u2588\u2591]+\] \d+% [\d.]+ (B|KiB|MiB)\/1\.\d MiB/);
    expect(text).to.contain('installed cad 2026.1.0');
    expect(text).not.to.match(/^\{"level"/m); // no JSON lines on a terminal
    expect((await states())['dep/cad@2026.1.0/install']?.state).to.equal('installed');
  });
});
