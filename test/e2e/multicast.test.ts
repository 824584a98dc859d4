/**
 * Multicast to a site, end to end: a real relay process (`ferry agent --relay
 * --multicast-interface 127.0.0.1`) and real `ferry agent` processes as its hosts, with real UDP
 * on a multicast group over loopback and HTTP Range repair from the relay. The controller API is
 * the agent runtime fixture's (plans set by the test, signed like the controller's).
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { encodeHeader, sessionId } from '../../lib/multicast/datagram.js';
import { GapList } from '../../lib/multicast/gap-list.js';
import type { ContentSource } from '../../core/plan/types.js';
import type { RunningController } from '../../controller/controller.js';
import { ensureBuilt } from '../agent/runtime/build.js';
import { action, buildTestArtifact, packageFiles, startController, type TestController, type TestPackage } from '../agent/runtime/fixture.js';
import { startTestController } from '../support/controller.js';
import { eventually } from '../support/eventually.js';
import { ferryBin, type RunResult, runFerry } from '../support/ferry.js';

const IFACE = '127.0.0.1';
const BLOCK = 1408;

interface RelayProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
}

describe('multicast to a site (relay and host processes, UDP on loopback)', function () {
  this.timeout(180_000);
  let ctl: TestController;
  let work: string;
  let relay: RelayProcess | undefined;
  let port = 47_100 + (process.pid % 500);

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt();
  });
  beforeEach(async () => {
    ctl = await startController();
    work = await mkdtemp(join(tmpdir(), 'ferry-mcast-e2e-'));
    relay = await startRelayProcess();
    port++;
  });
  afterEach(async () => {
    if (relay) {
      relay.child.kill('SIGTERM');
      await relay.exited;
      relay = undefined;
    }
    await ctl.close();
    await rm(work, { recursive: true, force: true });
  });

  async function startRelayProcess(): Promise<RelayProcess> {
    // biome-ignore format: flag and value pairs
    const args = [ferryBin, 'agent', '--relay', '--listen', '127.0.0.1:0', '--cache-size', '64MiB', '--server', ctl.url, '--enroll-token', await ctl.token(),
      '--name', 'relay-osaka', '--data', join(work, 'relay'), '--install-root', join(work, 'relay-root'), '--no-os-packages', '--interval', '1s', '--multicast-interface', IFACE];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stderr! }).on('line', (line) => {
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

  // biome-ignore format: flag and value pairs
  const hostArgs = (host: string, extra: readonly string[] = []) => ['agent', '--server', relay!.url, '--name', host, '--data', join(work, host),
    '--install-root', join(work, `${host}-root`), '--no-os-packages', '--once', '--multicast-interface', IFACE, ...extra];

  async function enroll(hosts: readonly string[]): Promise<void> {
    const runs = await Promise.all(hosts.map(async (h) => runFerry([...hostArgs(h), '--enroll-token', await ctl.token()])));
    expect(runs.map((r) => r.code)).to.deep.equal(hosts.map(() => 0));
  }

  /** Plans `pkg` for `hosts` with the relay's multicast session announced, at `rate` bytes per second. */
  async function planMulticast(hosts: readonly string[], pkg: TestPackage, rate: number, chunks?: { size: number; sha256: string[] }): Promise<void> {
    const sources: ContentSource[] = [
      { kind: 'relay', name: 'osaka', url: relay!.url, multicast: { group: '239.255.72.1', port, rate, blockSize: BLOCK } },
      { kind: 'controller', name: 'controller' },
    ];
    const a = action(pkg, { distribute: { multicast: true, wake: false }, artifact: { sha256: pkg.sha256, size: pkg.size, ...(chunks ? { chunks } : {}) } });
    for (const h of hosts) await ctl.setPlan(h, [a], { sources });
  }

  async function metric(name: string): Promise<number> {
    const text = await (await fetch(`${relay!.url}/metrics`)).text();
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  }

  const states = async (host: string) => (await ctl.store.currentStates({ host })).map((s) => `${s.actionId} ${s.report.state}`).sort();
  const installedAll = async (hosts: readonly string[], pkg: TestPackage) => {
    for (const h of hosts) expect(await states(h), h).to.deep.equal([`dep/${pkg.name}@${pkg.version}/install installed`]);
  };
  const events = (r: RunResult, name: string) =>
    r.stderr
      .split('\n')
      .filter((l) => l.includes(`"event":"${name}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('four hosts receive one multicast stream; unicast from the relay is well under one copy', async () => {
    const hosts = ['osaka-1', 'osaka-2', 'osaka-3', 'osaka-4'];
    const pkg = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', 6 * 1024 * 1024));
    await enroll(hosts);
    await planMulticast(hosts, pkg, 20_000_000);
    const runs = await Promise.all(hosts.map((h) => runFerry(hostArgs(h))));
    expect(runs.map((r) => r.code)).to.deep.equal(hosts.map(() => 0));
    await installedAll(hosts, pkg);
    for (const r of runs) expect(events(r, 'multicast-repaired'), r.stderr).to.have.length(1);
    const sent = await eventually(() => metric('ferry_relay_multicast_bytes_sent_total'), 'the session ended');
    const unicast = await metric('ferry_relay_bytes_served_total');
    // One round: the artifact and a 24-byte header per block.
    expect(sent).to.be.within(pkg.size, pkg.size * 1.05);
    expect(unicast).to.be.below(pkg.size / 4);
  });

  it('with 10% of datagrams lost at each host, each repairs about its loss from the relay', async () => {
    const hosts = ['kobe-1', 'kobe-2', 'kobe-3', 'kobe-4'];
    const pkg = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', 4 * 1024 * 1024));
    await enroll(hosts);
    await planMulticast(hosts, pkg, 20_000_000);
    const runs = await Promise.all(hosts.map((h) => runFerry(hostArgs(h, ['--multicast-test-drop-rate', '0.1']))));
    expect(runs.map((r) => r.code)).to.deep.equal(hosts.map(() => 0));
    await installedAll(hosts, pkg);
    for (const r of runs) {
      const [repaired] = events(r, 'multicast-repaired');
      expect(repaired?.['bytesRepaired'] as number, r.stderr).to.be.within(0.04 * pkg.size, 0.2 * pkg.size);
    }
    expect(await metric('ferry_relay_bytes_served_total')).to.be.within(0.16 * pkg.size, 0.8 * pkg.size);
  });

  it('a host killed mid-session and restarted rejoins and completes by repair, not by a whole unicast copy', async () => {
    const hosts = ['nara-1', 'nara-2'];
    const pkg = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', 8 * 1024 * 1024));
    await enroll(hosts);
    await planMulticast(hosts, pkg, 2_000_000);
    const steady = runFerry(hostArgs('nara-2'));
    const victim = spawn(process.execPath, [ferryBin, ...hostArgs('nara-1')], { stdio: 'ignore' });
    const map = join(work, 'nara-1', 'content', `${pkg.sha256}.tar.gz.mpart.map`);
    await eventually(async () => GapList.fromBuffer(await readFile(map), pkg.size, BLOCK).count > 100, 'nara-1 holds some blocks');
    victim.kill('SIGKILL');
    await new Promise((r) => victim.once('exit', r));
    const held = GapList.fromBuffer(await readFile(map), pkg.size, BLOCK).count;
    expect(held).to.be.below(Math.ceil(pkg.size / BLOCK));
    const again = await runFerry(hostArgs('nara-1'));
    expect([again.code, (await steady).code]).to.deep.equal([0, 0]);
    await installedAll(hosts, pkg);
    const [repaired] = events(again, 'multicast-repaired');
    expect(repaired?.['bytesRepaired'] as number, again.stderr).to.be.below(pkg.size / 2);
    expect(await metric('ferry_relay_bytes_served_total')).to.be.below(pkg.size);
  });

  it('a forged datagram costs one chunk of repair (hashes from the signed plan), never a bad install', async () => {
    const hosts = ['kyoto-1', 'kyoto-2'];
    const pkg = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', 3 * 1024 * 1024));
    const bytes = await readFile(pkg.file);
    const chunkSize = 1024 * 1024;
    const chunks = { size: chunkSize, sha256: [] as string[] };
    for (let at = 0; at < bytes.length; at += chunkSize)
      chunks.sha256.push(
        createHash('sha256')
          .update(bytes.subarray(at, at + chunkSize))
          .digest('hex'),
      );
    await enroll(hosts);
    await planMulticast(hosts, pkg, 20_000_000, chunks);
    // A forger repeats a bad copy of the last block from before the session starts: the receivers take it first.
    const forger = createSocket('udp4');
    await new Promise<void>((r) => forger.bind(0, IFACE, () => r()));
    forger.setMulticastInterface(IFACE);
    const last = Math.ceil(pkg.size / BLOCK) - 1;
    const forged = [encodeHeader({ type: 'data', rounds: 3, round: 1, session: sessionId(pkg.sha256), value: last }), Buffer.alloc(pkg.size - last * BLOCK, 0x41)];
    const timer = setInterval(() => forger.send(forged, port, '239.255.72.1'), 2);
    try {
      const runs = await Promise.all(hosts.map((h) => runFerry(hostArgs(h))));
      expect(runs.map((r) => r.code)).to.deep.equal(hosts.map(() => 0));
      await installedAll(hosts, pkg);
      for (const r of runs) {
        const [repaired] = events(r, 'multicast-repaired');
        expect(repaired?.['chunksDropped'], r.stderr).to.equal(1);
        expect(repaired?.['bytesRepaired'] as number).to.be.at.most(chunkSize + 2 * BLOCK);
      }
    } finally {
      clearInterval(timer);
      forger.close();
    }
  });
});

describe('multicast from the controller to hosts without a relay (--multicast)', function () {
  this.timeout(180_000);
  let work: string;
  let controller: RunningController | undefined;

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt();
  });
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-mcast-ctl-'));
  });
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    await rm(work, { recursive: true, force: true });
  });

  /**
   * A real controller (`--multicast`) with a multicast Deployment of a pushed artifact for `hosts`;
   * runs the hosts until each installed it and returns their logs. `during` runs while they do.
   */
  async function controllerSession(hosts: readonly string[], group: string, port: number, mib: number) {
    const manifests = join(work, 'manifests');
    await mkdir(manifests, { recursive: true });
    const artifact = join(work, 'cad-1.0.0.tar.gz');
    const info = await buildTestArtifact(join(work, 'pkg'), artifact, packageFiles('cad', '1.0.0', mib * 1024 * 1024));
    // biome-ignore format: a manifest, line by line
    await writeFile(join(manifests, 'fleet.yaml'), ['apiVersion: ferry/v1', 'kind: Package', 'metadata: {name: cad}', 'spec:', '  version: "1.0.0"',
      `  artifact: {sha256: "${info.sha256}", size: ${info.size}}`, '  install: {command: [sh, install.sh], timeout: 1m}', '  uninstall: {command: [sh, uninstall.sh], timeout: 1m}',
      '---', 'apiVersion: ferry/v1', 'kind: Deployment', 'metadata: {name: cad}', 'spec:', '  packages: [{name: cad, version: "1.0.0", state: present}]',
      `  targets: {hosts: [${hosts.join(', ')}]}`, '  distribute: {multicast: true}', ''].join('\n'));
    controller = await startTestController({ dir: manifests, data: join(work, 'ctl'), pollMs: 1000, multicast: { group, port, rate: 20_000_000, interface: IFACE } });
    const c = controller;
    const put = await fetch(`${c.url}/v1/content/${info.sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${c.keys.adminToken}`, 'content-type': 'application/octet-stream' },
      body: await readFile(artifact),
    });
    expect(put.status).to.be.oneOf([200, 201]);
    // biome-ignore format: flag and value pairs
    const args = (h: string, extra: string[] = []) => ['agent', '--server', c.url, '--name', h, '--data', join(work, h), '--install-root', join(work, `${h}-root`),
      '--no-os-packages', '--once', '--multicast-interface', IFACE, ...extra];
    // The first run enrolls, reports inventory and finds its plan at once; later runs finish what is left.
    const tokens = await Promise.all(hosts.map(async () => (await c.store.createToken({ ttlMs: 3_600_000, now: new Date() })).token));
    const logs = (await Promise.all(hosts.map((h, i) => runFerry(args(h, ['--enroll-token', tokens[i]!]))))).map((r) => r.stderr);
    await eventually(
      async () => {
        const done = await Promise.all(hosts.map(async (h) => (await c.store.currentStates({ host: h })).some((st) => st.report.state === 'installed')));
        if (done.every(Boolean)) return true;
        const again = await Promise.all(hosts.map((h) => runFerry(args(h))));
        again.forEach((r, i) => {
          logs[i] += r.stderr;
        });
        return false;
      },
      'both hosts installed cad',
      120_000,
    );
    const repairs = logs.map((stderr) => ({
      stderr,
      repaired: stderr
        .split('\n')
        .filter((l) => l.includes('"event":"multicast-repaired"'))
        .map((l) => JSON.parse(l) as { bytesRepaired: number; chunksDropped: number }),
    }));
    return { c, info, artifact, repairs };
  }

  it('plans name the controller session; two hosts receive it and repair next to nothing', async () => {
    const hosts = ['tokyo-1', 'tokyo-2'];
    const { info, repairs } = await controllerSession(hosts, '239.255.74.1', 48_100 + (process.pid % 500), 4);
    for (const r of repairs) {
      expect(r.repaired[0]?.bytesRepaired, r.stderr).to.be.below(info.size / 4);
      expect(r.stderr).to.include('"source":"controller (multicast)"');
    }
  });

  it("the controller's signed plans carry 1 MiB chunk hashes: a forged datagram costs one chunk of repair", async () => {
    const hosts = ['sendai-1', 'sendai-2'];
    const group = '239.255.74.2';
    const port = 48_700 + (process.pid % 500);
    // A forger repeats a bad copy of block 0 from before the session starts: the receivers take it first.
    const forger = createSocket('udp4');
    await new Promise<void>((r) => forger.bind(0, IFACE, () => r()));
    forger.setMulticastInterface(IFACE);
    let forged: Buffer[] | undefined;
    const timer = setInterval(() => forged && forger.send(forged, port, group), 2);
    try {
      const run = controllerSession(hosts, group, port, 3);
      // The artifact's digest is known once it is built; the forger starts then.
      const sha = await eventually(async () => {
        const text = await readFile(join(work, 'manifests', 'fleet.yaml'), 'utf8').catch(() => '');
        return /sha256: "([0-9a-f]{64})"/.exec(text)?.[1];
      }, 'the manifest is written');
      forged = [encodeHeader({ type: 'data', rounds: 3, round: 1, session: sessionId(sha), value: 0 }), Buffer.alloc(BLOCK, 0x41)];
      const { c, info, artifact, repairs } = await run;
      const bytes = await readFile(artifact);
      const chunkSize = 1024 * 1024;
      const expected: string[] = [];
      for (let at = 0; at < bytes.length; at += chunkSize)
        expected.push(
          createHash('sha256')
            .update(bytes.subarray(at, at + chunkSize))
            .digest('hex'),
        );
      expect(expected.length).to.be.at.least(3);
      for (const h of hosts) {
        const doc = JSON.parse((await c.store.getSignedPlan(h))!.signed) as { actions: { artifact: { sha256: string; chunks?: unknown } }[] };
        expect(doc.actions.map((a) => a.artifact.chunks)).to.deep.equal([{ size: chunkSize, sha256: expected }]);
      }
      expect(info.size).to.equal(bytes.length);
      for (const r of repairs) {
        expect(r.repaired, r.stderr).to.have.length(1);
        expect(r.repaired[0]!.chunksDropped, r.stderr).to.equal(1);
        expect(r.repaired[0]!.bytesRepaired, r.stderr).to.be.at.most(chunkSize + 2 * BLOCK);
      }
    } finally {
      clearInterval(timer);
      forger.close();
    }
  });
});
