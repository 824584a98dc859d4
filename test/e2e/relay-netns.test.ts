/**
 * A site that can reach only its relay, enforced by the network: the site's hosts run in a
 * network namespace joined to this one by a veth pair; the relay listens on this side of the
 * pair, the controller on 127.0.0.1 here (which the namespace cannot reach: it has a loopback of
 * its own). Real `ferry agent` processes in the namespace enroll, poll, download and report through
 * the relay; their results appear in `ferry status`. Needs root (`ip netns`, as CI runs).
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt } from '../agent/runtime/build.js';
import { action, packageFiles, startController, type TestController } from '../agent/runtime/fixture.js';
import { startUpstreamProxy, type UpstreamProxy } from '../agent/relay/upstream-proxy.js';
import { ferryBin, runFerry } from '../support/ferry.js';
import { type RelayProcess, startRelayProcess } from './relay-process.js';

const run = promisify(execFile);
const ns = `ferry-site-${process.pid}`;
const [outside, inside] = [`fsa${process.pid % 100000}`, `fsb${process.pid % 100000}`];
const [relayIp, hostIp] = ['10.231.0.1', '10.231.0.2'];

/** Runs `ferry ARGS` inside the namespace; resolves with its exit code and stderr. */
function ferryInNs(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ferryBin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('relay end to end: a site in a network namespace that reaches only the relay', function () {
  this.timeout(180_000);
  let ctl: TestController;
  let proxy: UpstreamProxy;
  let work: string;
  let relay: RelayProcess | undefined;
  const hosts = ['site-1', 'site-2', 'site-3'];

  before(async function () {
    this.timeout(300_000);
    if (process.getuid?.() !== 0) this.skip(); // network namespaces and veth pairs need root (CI runs as root)
    await ensureBuilt();
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
    await run('ip', ['link', 'set', inside, 'netns', ns]);
    await run('ip', ['addr', 'add', `${relayIp}/30`, 'dev', outside]);
    await run('ip', ['link', 'set', outside, 'up']);
    await run('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${hostIp}/30`, 'dev', inside]);
    await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', inside, 'up']);
    await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    ctl = await startController({ relays: [{ name: 'site', host: 'relay-site', url: `http://${relayIp}:0`, served: new Set(hosts) }] });
    proxy = await startUpstreamProxy(ctl.url);
    work = await mkdtemp(join(tmpdir(), 'ferry-relay-netns-'));
  });
  after(async () => {
    await relay?.stop();
    await proxy?.close();
    await ctl?.close();
    if (work) await rm(work, { recursive: true, force: true });
    await run('ip', ['link', 'del', outside]).catch(() => undefined);
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  });

  it('hosts that can reach only the relay enroll, install and report; ferry status shows their results', async () => {
    // The namespace really cannot reach the controller.
    const direct = await ferryInNs(['agent', '--server', ctl.url, '--enroll-token', await ctl.token(), '--name', 'probe', '--data', join(work, 'probe'), '--once']);
    expect(direct.code).to.equal(3);

    const pkg = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', 1024 * 1024));
    relay = await startRelayProcess({
      listen: `${relayIp}:0`,
      server: proxy.url,
      token: await ctl.token(),
      name: 'relay-site',
      data: join(work, 'relay'),
      installRoot: join(work, 'relay-root'),
    });
    const sources = [
      { kind: 'relay' as const, name: 'site', url: relay.url },
      { kind: 'controller' as const, name: 'controller' },
    ];
    const hostArgs = (h: string) => [
      'agent',
      '--server',
      relay!.url,
      '--name',
      h,
      '--data',
      join(work, h),
      '--install-root',
      join(work, `${h}-root`),
      '--no-os-packages',
      '--once',
    ];
    const token = await ctl.token();
    const enrolled = await Promise.all(hosts.map((h) => ferryInNs([...hostArgs(h), '--enroll-token', token])));
    expect(enrolled.map((r) => r.code)).to.deep.equal(hosts.map(() => 0));
    for (const h of hosts) await ctl.setPlan(h, [action(pkg)], { sources });
    const installed = await Promise.all(hosts.map((h) => ferryInNs(hostArgs(h))));
    expect(installed.map((r) => r.code)).to.deep.equal(hosts.map(() => 0));
    // One copy crossed to the site.
    expect(proxy.content.filter((c) => c.method === 'GET').map((c) => [c.status, c.bytes])).to.deep.equal([[200, pkg.size]]);

    const status = await runFerry(['status', 'dep'], { env: { FERRY_SERVER: ctl.url, FERRY_TOKEN: 'admin-token-for-agent-tests-0123456789' } });
    const rows = status.stdout
      .split('\n')
      .filter((l) => l.startsWith('site-'))
      .map((l) => l.split(/\s{2,}/).slice(0, 2));
    expect(rows).to.deep.equal(hosts.map((h) => [h, 'installed']));
  });
});
