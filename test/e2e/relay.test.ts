/**
 * A site behind a real relay process (`ferry agent --relay`), with real `ferry agent` processes
 * as its hosts, their `--server` the relay; the controller API (test/agent/runtime/fixture.ts)
 * sits behind a proxy that counts what it sends and can cut the link. One upstream copy per
 * artifact for the whole site; the relay is a host too; with upstream cut the site installs from
 * the plans and content the relay holds, the relay is killed -9 with reports queued, and once
 * upstream returns every report arrives.
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadCredential } from '../../agent/enroll/credential.js';
import { ensureBuilt } from '../agent/runtime/build.js';
import { action, packageFiles, startController, type TestController } from '../agent/runtime/fixture.js';
import { startUpstreamProxy, type UpstreamProxy } from '../agent/relay/upstream-proxy.js';
import { eventually } from '../support/eventually.js';
import { ferryBin, runFerry } from '../support/ferry.js';

interface RelayProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
}

describe('relay end to end (ferry agent --relay and host processes)', function () {
  this.timeout(180_000);
  let ctl: TestController;
  let proxy: UpstreamProxy;
  let work: string;
  let relay: RelayProcess | undefined;
  const hosts = ['osaka-1', 'osaka-2', 'osaka-3', 'osaka-4'];

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt();
  });
  beforeEach(async () => {
    ctl = await startController({ relays: [{ name: 'osaka', host: 'relay-osaka', url: 'http://relay-osaka:8470', served: new Set(hosts) }] });
    proxy = await startUpstreamProxy(ctl.url);
    work = await mkdtemp(join(tmpdir(), 'ferry-relay-e2e-'));
  });
  afterEach(async () => {
    if (relay) {
      relay.child.kill('SIGTERM');
      await relay.exited;
      relay = undefined;
    }
    await proxy.close();
    await ctl.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Starts `ferry agent --relay` and resolves once it logs the address it serves on. */
  async function startRelayProcess(listen: string): Promise<RelayProcess> {
    const child = spawn(
      process.execPath,
      [
        ferryBin,
        'agent',
        '--relay',
        '--listen',
        listen,
        '--cache-size',
        '64MiB',
        '--server',
        proxy.url,
        '--enroll-token',
        await ctl.token(),
        '--name',
        'relay-osaka',
        '--data',
        join(work, 'relay'),
        '--install-root',
        join(work, 'relay-root'),
        '--no-os-packages',
        '--interval',
        '1s',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stderr! });
      lines.on('line', (line) => {
        try {
          const e = JSON.parse(line) as { event?: string; url?: string };
          if (e.event === 'relay-listening' && e.url) resolve(e.url);
        } catch {
          // not a log line
        }
      });
      void exited.then((code) => reject(new Error(`the relay exited with ${code} before listening`)));
    });
    return { child, url, exited };
  }

  const hostArgs = (host: string, server: string, token?: string) => [
    'agent',
    '--server',
    server,
    ...(token ? ['--enroll-token', token] : []),
    '--name',
    host,
    '--data',
    join(work, host),
    '--install-root',
    join(work, `${host}-root`),
    '--no-os-packages',
    '--once',
  ];
  const states = async (host: string) => (await ctl.store.currentStates({ host })).map((s) => `${s.actionId} ${s.report.state}`).sort();
  const upstreamGets = () => proxy.content.filter((c) => c.method === 'GET').map((c) => ({ status: c.status, bytes: c.bytes }));

  it('one upstream copy per artifact for the site; the site installs through a controller outage and a kill -9 of the relay, losing no report', async () => {
    const first = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', 3 * 1024 * 1024));
    const second = await ctl.pushPackage('cam', '2.0.0', packageFiles('cam', '2.0.0', 2 * 1024 * 1024));
    relay = await startRelayProcess('127.0.0.1:0');
    const sources = [
      { kind: 'relay' as const, name: 'osaka', url: relay.url },
      { kind: 'controller' as const, name: 'controller' },
    ];
    // Every host enrolls through the relay.
    const enrolled = await Promise.all(hosts.map(async (h) => runFerry(hostArgs(h, relay!.url, await ctl.token()))));
    expect(enrolled.map((r) => r.code)).to.deep.equal(hosts.map(() => 0));

    // The relay is a host too: its own plan applies.
    await ctl.setPlan('relay-osaka', [action(first)]);
    for (const h of hosts) await ctl.setPlan(h, [action(first)], { sources });
    const installed = await Promise.all(hosts.map((h) => runFerry(hostArgs(h, relay!.url))));
    expect(installed.map((r) => r.code)).to.deep.equal(hosts.map(() => 0));
    for (const h of hosts) expect(await states(h)).to.deep.equal(['dep/cad@1.0.0/install installed']);
    await eventually(async () => (await states('relay-osaka')).includes('dep/cad@1.0.0/install installed'), 'the relay host installed its own plan');
    // The relay's own agent fetched from the controller (1), the site's four hosts from the relay (1).
    expect(upstreamGets()).to.deep.equal([
      { status: 200, bytes: first.size },
      { status: 200, bytes: first.size },
    ]);

    // A new plan reaches the relay (one poll per host) and its content is warmed; then upstream goes away.
    for (const h of hosts) await ctl.setPlan(h, [action(first), action(second)], { sources });
    for (const h of hosts) {
      const auth = `Bearer ${(await loadCredential(join(work, h)))!.credential}`;
      expect((await fetch(`${relay.url}/v1/hosts/${h}/plan`, { headers: { authorization: auth } })).status).to.equal(200);
    }
    const auth0 = `Bearer ${(await loadCredential(join(work, hosts[0]!)))!.credential}`;
    expect((await (await fetch(`${relay.url}/v1/content/${second.sha256}`, { headers: { authorization: auth0 } })).arrayBuffer()).byteLength).to.equal(second.size);
    proxy.down(true);

    const offline = await Promise.all(hosts.map((h) => runFerry(hostArgs(h, relay!.url))));
    expect(offline.map((r) => r.code)).to.deep.equal(hosts.map(() => 0));
    for (const h of hosts) expect(await states(h)).to.deep.equal(['dep/cad@1.0.0/install installed']);

    // kill -9 with the reports queued; a new relay process on the same port and data delivers them.
    const port = new URL(relay.url).port;
    relay.child.kill('SIGKILL');
    await relay.exited;
    relay = await startRelayProcess(`127.0.0.1:${port}`);
    proxy.down(false);
    for (const h of hosts) {
      await eventually(async () => (await states(h)).join() === 'dep/cad@1.0.0/install installed,dep/cam@2.0.0/install installed' || undefined, `${h}'s queued reports delivered`);
    }
    expect(upstreamGets()).to.deep.equal([
      { status: 200, bytes: first.size },
      { status: 200, bytes: first.size },
      { status: 200, bytes: second.size },
    ]);
  });
});
