/**
 * `ferry demo` as a user runs it (the built command, real controller, relay and agent processes):
 * it converges and exits 0 with --exit-when-converged, the Osaka hosts' content comes through the
 * relay, Ctrl-C stops it, and no process is left.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
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

const osakaHosts = ['osa-sales-03', 'osa-eng-04'];
const otherHosts = ['tyo-sales-01', 'tyo-eng-01', 'tyo-eng-02', 'ber-eng-05', 'tyo-fin-01', 'tyo-fin-02'];
const relayHost = 'relay-osaka-01';

/** The agent's `download-finished` events in a host's log (JSON lines). */
async function downloads(dir: string, host: string): Promise<{ source: string; bytesFetched: number }[]> {
  const lines = (await readFile(join(dir, 'logs', `${host}.log`), 'utf8')).split('\n').filter((l) => l.startsWith('{'));
  return lines.map((l) => JSON.parse(l) as { event: string; source: string; bytesFetched: number }).filter((e) => e.event === 'download-finished');
}

/** `SHA256 → size` of the artifacts kept in a content folder (the agent's `NAME.tar.gz`, the relay's `NAME`). */
async function artifactsIn(folder: string): Promise<Map<string, number>> {
  const kept = new Map<string, number>();
  for (const f of await readdir(folder)) {
    const m = /^([0-9a-f]{64})(\.tar\.gz)?$/.exec(f);
    if (m) kept.set(m[1]!, (await stat(join(folder, f))).size);
  }
  return kept;
}

const sum = (ns: Iterable<number>) => [...ns].reduce((a, b) => a + b, 0);

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
    expect(r.stdout).to.match(/^stopped 10 processes\.$/m);

    // The Osaka hosts downloaded everything from the relay (their plans list it first), the others
    // from the controller; the relay fetched each artifact it holds once — prefetched in the
    // distribution window or on a host's first request, whichever came first, so the split between
    // the two varies — and its /metrics (printed by the demo before it stopped) count exactly the
    // Osaka hosts' downloads.
    const relay =
      /^Relay osaka: content (\d+) fetched upstream · (\d+) from cache · (\d+) joined a transfer; served (\d+) bytes .*, fetched (\d+) bytes upstream .*; (\d+) agent requests forwarded$/m.exec(
        r.stdout,
      );
    expect(relay, r.stdout).to.not.equal(null);
    const [misses, hits, joined, served, fetched, forwarded] = relay!.slice(1).map(Number) as [number, number, number, number, number, number];
    const osakaDownloads = (await Promise.all(osakaHosts.map((h) => downloads(dir!, h)))).flat();
    const siteArtifacts = new Map<string, number>();
    for (const h of osakaHosts) for (const [sha, size] of await artifactsIn(join(dir!, 'hosts', h, 'data', 'content'))) siteArtifacts.set(sha, size);
    const relayCache = await artifactsIn(join(dir!, 'hosts', relayHost, 'data', 'relay', 'cache'));
    const sources: Record<string, string[]> = {};
    for (const h of [...osakaHosts, ...otherHosts, relayHost]) sources[h] = [...new Set((await downloads(dir!, h)).map((d) => d.source))];
    expect({
      sources,
      relayCache: [...siteArtifacts].filter(([sha]) => relayCache.has(sha)).sort(),
      upstream: { bytes: fetched },
      served: { requests: misses + hits + joined, bytes: served },
      forwardedPlansAndReports: forwarded > 0,
    }).to.deep.equal({
      sources: { ...Object.fromEntries(osakaHosts.map((h) => [h, ['osaka']])), ...Object.fromEntries(otherHosts.map((h) => [h, ['controller']])), [relayHost]: [] },
      relayCache: [...siteArtifacts].sort(),
      upstream: { bytes: sum(relayCache.values()) },
      served: { requests: osakaDownloads.length, bytes: sum(osakaDownloads.map((d) => d.bytesFetched)) },
      forwardedPlansAndReports: true,
    });

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

    await eventually(() => /\d+ of 9 enrolled/.test(stdout), 'the demo to report enrolled hosts', 90_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${stdout}${stderr}`);
    });
    const dir = /work folder (\S+)/.exec(stdout)![1]!;
    expect(processesMentioning(dir).length, 'controller, relay and 8 agents running').to.equal(10);

    child.kill('SIGINT');
    expect(await exited, stdout + stderr).to.equal(0);
    expect(stdout).to.match(/^stopped 10 processes\.$/m);
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
