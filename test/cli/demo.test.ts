/**
 * `ferry demo` as a user runs it (the built command, real controller and agent processes):
 * it converges and exits 0 with --exit-when-converged, Ctrl-C stops it, and no process is left.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { judge } from '../../cli/demo/convergence.js';
import { eventually } from '../support/eventually.js';
import { ferryBin, repoRoot, runFerry } from '../support/ferry.js';

/** Command lines of running processes that mention `text`. */
function processesMentioning(text: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((line) => line.includes(text) && !line.includes('ps -eo'))
    .map((line) => line.trim());
}

describe('ferry demo (real processes)', function () {
  this.timeout(240_000);
  const work: string[] = [];
  after(async () => {
    for (const w of work) await rm(w, { recursive: true, force: true });
  });

  it('--exit-when-converged: prints the dashboard and admin token, converges, exits 0 and leaves no process', async () => {
    const r = await runFerry(['demo', '--exit-when-converged', '--keep', '--timeout', '3m']);
    const dir = /work folder (\S+)/.exec(r.stdout)?.[1];
    if (dir) work.push(dir);
    expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(dir, r.stdout).to.be.a('string');

    const url = /^Dashboard:\s+(\S+)$/m.exec(r.stdout)?.[1];
    expect(url, r.stdout).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const token = /^Admin token:\s+(\S+)$/m.exec(r.stdout)?.[1];
    expect(token, r.stdout).to.equal((await readFile(`${dir}/controller/admin.token`, 'utf8')).trim());

    expect(r.stdout).to.match(/^Converged: every deployment is settled/m);
    // The example fleet on 8 hosts: what installs, what does not apply, and what stays suspended.
    expect(r.stdout).to.match(/^desktop-baseline\s+installed 16$/m);
    expect(r.stdout).to.match(/^vpn-client\s+installed 3 · not-applicable 1$/m);
    expect(r.stdout).to.match(/^cad-suite\s+installed 2 · not-applicable 1$/m);
    expect(r.stdout).to.match(/^build-tools-zephyr\s+suspended 1$/m);
    expect(r.stdout).to.match(/^text-editor-stable\s+installed 4$/m);
    expect(r.stdout).to.match(/^text-editor-2-5-pilot\s+installed 4$/m);
    expect(r.stdout).to.match(/relay osaka served [1-9]\d* downloads/);
    expect(r.stdout).to.match(/^stopped 9 processes\.$/m);

    expect(processesMentioning(dir!)).to.deep.equal([]);
    expect(
      await fetch(url!).then(
        () => 'answered',
        () => 'refused',
      ),
    ).to.equal('refused');
  });

  it('stops every process on SIGINT (Ctrl-C) and exits 0', async () => {
    const child = spawn(process.execPath, [ferryBin, 'demo'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    await eventually(() => /\d+ of 8 enrolled/.test(stdout), 'the demo to report enrolled hosts', 90_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${stdout}${stderr}`);
    });
    const dir = /work folder (\S+)/.exec(stdout)![1]!;
    expect(processesMentioning(dir).length, 'controller and 8 agents running').to.equal(9);

    child.kill('SIGINT');
    expect(await exited, stdout + stderr).to.equal(0);
    expect(stdout).to.match(/^stopped 9 processes\.$/m);
    expect(processesMentioning(dir)).to.deep.equal([]);
    // Without --keep the work folder is gone.
    expect(
      await readFile(`${dir}/controller/admin.token`, 'utf8').then(
        () => 'kept',
        () => 'removed',
      ),
    ).to.equal('removed');
  });
});

describe('ferry demo: when the fleet counts as settled', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  const action = (over: Record<string, unknown> = {}) => ({
    id: 'd/p@1/install',
    deployment: 'd',
    package: 'p',
    version: '1',
    op: 'install',
    status: 'planned',
    blockedBy: [],
    artifact: { sha256: 'a'.repeat(64), size: 1 },
    conditions: [],
    distribute: { multicast: false, wake: false },
    shutdownAfter: false,
    suspended: false,
    ...over,
  });
  const view = (a: Record<string, unknown>, state?: string) => ({
    expectedHosts: ['h1'],
    appliedRevision: 'main@sha1:1',
    hosts: [{ host: { host: 'h1' }, plan: { serial: 1, revision: 'main@sha1:1', body: { actions: [action(a)] } }, states: state ? [{ actionId: 'd/p@1/install', state }] : [] }],
  });
  const soon = [{ start: '2026-11-24T12:00:20Z', end: '2026-11-24T13:00:00Z' }];
  const far = [{ start: '2026-11-25T12:00:00Z', end: '2026-11-25T13:00:00Z' }];
  const cases: { name: string; view: Parameters<typeof judge>[0]; settled: boolean; counts: Record<string, number> }[] = [
    { name: 'installed', view: view({}, 'installed') as never, settled: true, counts: { installed: 1 } },
    { name: 'not reported yet counts as pending', view: view({}) as never, settled: false, counts: { pending: 1 } },
    { name: 'failed is settled', view: view({}, 'failed') as never, settled: true, counts: { failed: 1 } },
    { name: 'waiting for a window opening in 20 s', view: view({ installWindows: soon }, 'waiting') as never, settled: false, counts: { waiting: 1 } },
    { name: 'waiting for a window tomorrow', view: view({ installWindows: far }, 'waiting') as never, settled: true, counts: { waiting: 1 } },
    { name: 'waiting for a rollout wave', view: view({ status: 'waiting' }, 'waiting') as never, settled: false, counts: { waiting: 1 } },
    { name: 'suspended deployment', view: view({ suspended: true }, 'pending') as never, settled: true, counts: { pending: 1 } },
    {
      name: 'a host that has not enrolled',
      view: { expectedHosts: ['h1', 'h2'], appliedRevision: 'main@sha1:1', hosts: view({}, 'installed').hosts } as never,
      settled: false,
      counts: { installed: 1 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = judge(c.view, now);
      expect({ settled: r.unsettled.length === 0, counts: Object.fromEntries(r.deployments) }).to.deep.equal({ settled: c.settled, counts: { d: c.counts } });
    });
  }
});
