/** The agent in process against a real controller API: install, upgrade, uninstall, drift, conditions, failures, sources, plans. */
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type AgentOptions } from '../../../agent/agent.js';
import { MemorySink, type AgentEvent } from '../../../agent/log/events.js';
import { startContentServer } from '../../lib/transfer/content-server.js';
import { eventually } from '../../support/eventually.js';
import { action, packageFiles, startController, type TestController } from './fixture.js';

describe('agent runtime: applying plans (in process, real controller API)', function () {
  this.timeout(60_000);
  let ctl: TestController;
  let work: string;
  let root: string;
  let data: string;
  let token: string;
  const host = 'clt1';

  beforeEach(async () => {
    ctl = await startController();
    work = await mkdtemp(join(tmpdir(), 'ferry-agent-host-'));
    root = join(work, 'root');
    data = join(work, 'data');
    token = await ctl.token();
  });
  afterEach(async () => {
    await ctl.close();
    await rm(work, { recursive: true, force: true });
  });

  function options(over: Partial<AgentOptions> = {}): AgentOptions {
    return {
      server: ctl.url,
      dataDir: data,
      installRoot: root,
      name: host,
      labels: { dept: 'lab' },
      facts: [],
      enrollToken: token,
      intervalMs: 1000,
      shutdownCommand: ['sh', '-c', `echo down >> "${join(work, 'shutdowns')}"`],
      osPackages: false,
      events: new MemorySink(),
      ...over,
    };
  }

  /** One `--once` cycle in process; returns its exit code and the events. */
  async function once(over: Partial<AgentOptions> = {}): Promise<{ code: number; events: MemorySink }> {
    const events = new MemorySink();
    const agent = await Agent.open(options({ ...over, events }));
    try {
      return { code: await agent.runOnce(), events };
    } finally {
      await agent.close();
    }
  }

  const states = async () => Object.fromEntries((await ctl.store.currentStates({ host })).map((s) => [s.actionId, s.report]));
  const runs = (name: string) =>
    readFile(join(root, `${name}.runs`), 'utf8').then(
      (t) => t.trim().split('\n'),
      () => [] as string[],
    );

  it('enrolls once, reports inventory, installs, then upgrades to a new version without reinstalling the old', async () => {
    expect((await once()).code).to.equal(0); // no plan yet: nothing to do
    const cred = JSON.parse(await readFile(join(data, 'credential.json'), 'utf8'));
    expect(cred.host).to.equal(host);
    expect(cred.controllerKey).to.equal(ctl.publicKeyPem);
    expect((await stat(join(data, 'credential.json'))).mode & 0o777).to.equal(0o600);
    const inv = await ctl.store.getInventory(host);
    expect(inv?.inventory.labels).to.deep.equal({ dept: 'lab' });
    expect(inv?.inventory.facts.disk?.installRoot?.total).to.be.greaterThan(0);

    const v1 = await ctl.pushPackage('editor', '1.0.0', packageFiles('editor', '1.0.0'));
    await ctl.setPlan(host, [action(v1)]);
    expect((await once({ enrollToken: undefined })).code).to.equal(0);
    expect((await readFile(join(root, 'opt/editor/VERSION'), 'utf8')).trim()).to.equal('1.0.0');
    const s1 = await states();
    expect(s1['dep/editor@1.0.0/install']).to.include({ state: 'installed', exitCode: 0 });
    const history = (await ctl.store.history(host, 'dep/editor@1.0.0/install')).map((r) => r.state);
    expect(history).to.deep.equal(['downloading', 'downloaded', 'installing', 'installed']);
    const sw = (await ctl.store.getInventory(host))?.inventory.software;
    expect(sw).to.deep.include({ name: 'editor', version: '1.0.0', source: 'ferry' });

    expect((await once()).code).to.equal(0); // again: nothing new
    expect(await runs('editor')).to.deep.equal(['1.0.0']);

    const v2 = await ctl.pushPackage('editor', '2.0.0', packageFiles('editor', '2.0.0'));
    await ctl.setPlan(host, [action(v2)]);
    expect((await once()).code).to.equal(0);
    expect((await readFile(join(root, 'opt/editor/VERSION'), 'utf8')).trim()).to.equal('2.0.0');
    expect(await runs('editor')).to.deep.equal(['1.0.0', '2.0.0']);
    expect((await ctl.store.getInventory(host))?.inventory.software).to.deep.equal([{ name: 'editor', version: '2.0.0', source: 'ferry' }]);
  });

  it('uninstalls with state absent and forgets the package', async () => {
    const p = await ctl.pushPackage('tool', '1.0.0', packageFiles('tool', '1.0.0'));
    await ctl.setPlan(host, [action(p)]);
    expect((await once()).code).to.equal(0);
    await ctl.setPlan(host, [action(p, { op: 'uninstall' })]);
    expect((await once()).code).to.equal(0);
    expect(await stat(join(root, 'opt/tool')).catch(() => undefined)).to.equal(undefined);
    expect((await states())['dep/tool@1.0.0/uninstall']).to.include({ state: 'uninstalled', exitCode: 0 });
    expect((await ctl.store.getInventory(host))?.inventory.software).to.deep.equal([]);
    expect(await ctl.store.listInstalled({ host })).to.deep.equal([]);
  });

  it('an uninstall after a restart of the machine unpacks the package again from the artifact kept here', async () => {
    const p = await ctl.pushPackage('tool', '1.0.0', packageFiles('tool', '1.0.0'));
    await ctl.setPlan(host, [action(p)]);
    expect((await once()).code).to.equal(0);
    const unpacked = join(data, 'packages', 'tool', `1.0.0-${p.sha256.slice(0, 8)}`);
    await writeFile(join(unpacked, 'uninstall.sh'), ''); // a power cut emptied it; `sh` would exit 0
    const record = JSON.parse(await readFile(`${unpacked}.verified`, 'utf8')) as { boot: string };
    await writeFile(`${unpacked}.verified`, JSON.stringify({ ...record, boot: 'an-earlier-boot' }));
    await ctl.setPlan(host, [action(p, { op: 'uninstall' })]);
    expect((await once()).code).to.equal(0);
    expect(await readFile(join(root, 'tool.uninstalls'), 'utf8')).to.equal('removed\n'); // the real uninstaller ran
    expect(await stat(join(root, 'opt/tool')).catch(() => undefined)).to.equal(undefined);
    expect(ctl.content.filter((c) => c.status === 200)).to.have.length(1); // from the artifact kept here
  });

  it('uninstall left unknown for detect: what detect finds is uninstalled, the rest is not-applicable and stays so outside the window', async () => {
    const byHand = await ctl.pushPackage('old-editor', '1.0.3', packageFiles('old-editor', '1.0.3'));
    const never = await ctl.pushPackage('old-viewer', '2.0.0', packageFiles('old-viewer', '2.0.0'));
    await mkdir(join(root, 'opt/old-editor'), { recursive: true });
    await writeFile(join(root, 'opt/old-editor/VERSION'), '1.0.3\n'); // installed outside Ferry
    const unknown = { op: 'uninstall', status: 'unknown', reason: 'not reported installed; the agent runs detect to decide' } as const;
    await ctl.setPlan(host, [action(byHand, unknown), action(never, unknown)]);
    expect((await once()).code).to.equal(0);
    expect(await stat(join(root, 'opt/old-editor')).catch(() => undefined)).to.equal(undefined);
    const notFound = 'detect does not find old-viewer 2.0.0 on this host; nothing to uninstall';
    const s1 = await states();
    expect(s1['dep/old-editor@1.0.3/uninstall']).to.include({ state: 'uninstalled', exitCode: 0 });
    expect(s1['dep/old-viewer@2.0.0/uninstall']).to.include({ state: 'not-applicable', reason: notFound });
    expect(await readFile(join(root, 'old-editor.uninstalls'), 'utf8')).to.equal('removed\n');
    expect(await stat(join(root, 'old-viewer.uninstalls')).catch(() => undefined)).to.equal(undefined);

    const at = (min: number) => new Date(Date.now() + min * 60_000).toISOString();
    await ctl.setPlan(host, [action(never, { ...unknown, installWindows: [{ start: at(120), end: at(180) }] })]);
    expect((await once()).code).to.equal(0);
    expect((await states())['dep/old-viewer@2.0.0/uninstall']).to.include({ state: 'not-applicable', reason: notFound });
    expect((await ctl.store.history(host, 'dep/old-viewer@2.0.0/uninstall')).map((r) => r.state)).to.deep.equal(['downloading', 'downloaded', 'not-applicable']);
    expect(await ctl.store.listInstalled({ host })).to.deep.equal([]);
  });

  it('uninstall left unknown for detect, with a detect that cannot run: failed with the reason, nothing uninstalled', async () => {
    const p = await ctl.pushPackage('old-tool', '1.0.0', packageFiles('old-tool', '1.0.0'));
    const detect = { command: ['ferry-test-no-such-detect'], timeoutMs: 10_000, env: {} };
    await ctl.setPlan(host, [action(p, { op: 'uninstall', status: 'unknown', reason: 'not reported installed; the agent runs detect to decide', detect })]);
    expect((await once()).code).to.equal(1);
    const s = (await states())['dep/old-tool@1.0.0/uninstall'];
    expect(s).to.include({ state: 'failed', exitCode: 127 });
    expect(s?.reason).to.match(/^detect .*ferry-test-no-such-detect/);
    expect(await stat(join(root, 'old-tool.uninstalls')).catch(() => undefined)).to.equal(undefined);
  });

  it('drift: installed files deleted → detect misses them → reported and installed again on the next cycle', async () => {
    const p = await ctl.pushPackage('vpn', '3.1.0', packageFiles('vpn', '3.1.0'));
    await ctl.setPlan(host, [action(p)]);
    expect((await once()).code).to.equal(0);
    await rm(join(root, 'opt/vpn'), { recursive: true });
    expect((await once()).code).to.equal(0);
    expect((await readFile(join(root, 'opt/vpn/VERSION'), 'utf8')).trim()).to.equal('3.1.0');
    expect(await runs('vpn')).to.deep.equal(['3.1.0', '3.1.0']);
    const history = (await ctl.store.history(host, 'dep/vpn@3.1.0/install')).map((r) => `${r.state}${r.reason?.startsWith('drift') ? ' (drift)' : ''}`);
    expect(history.slice(-3)).to.deep.equal(['pending (drift)', 'installing', 'installed']);
  });

  it('not-applicable by hardware, software and check conditions, re-checked on the host', async () => {
    const p = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0'));
    const q = await ctl.pushPackage('fonts', '1.0.0', packageFiles('fonts', '1.0.0'));
    const r = await ctl.pushPackage('lic', '1.0.0', packageFiles('lic', '1.0.0'));
    const cond = (name: string, spec: object) => ({ name, verdict: 'holds' as const, spec });
    await ctl.setPlan(host, [
      action(p, { conditions: [cond('enough-disk', { minDiskFree: 2 * 1024 ** 3 })] }),
      action(q, { conditions: [cond('no-legacy', { software: { present: [], absent: [{ name: 'legacy-editor' }] } })] }),
      action(r, { conditions: [cond('licensed', { check: { command: ['sh', '-c', 'echo no license; exit 4'], timeoutMs: 10_000, env: {} } })] }),
    ]);
    // The software condition sees what Ferry installed: a legacy editor first.
    const legacy = await ctl.pushPackage('legacy-editor', '1.0.3', packageFiles('legacy-editor', '1.0.3'));
    await ctl.setPlan(host, [action(legacy)]);
    expect((await once({ facts: [{ path: 'disk.installRoot.free', value: 1024 ** 3 }] })).code).to.equal(0);
    await ctl.setPlan(host, [
      action(p, { conditions: [cond('enough-disk', { minDiskFree: 2 * 1024 ** 3 })] }),
      action(q, { conditions: [cond('no-legacy', { software: { present: [], absent: [{ name: 'legacy-editor' }] } })] }),
      action(r, { conditions: [cond('licensed', { check: { command: ['sh', '-c', 'echo no license; exit 4'], timeoutMs: 10_000, env: {} } })] }),
    ]);
    expect((await once({ facts: [{ path: 'disk.installRoot.free', value: 1024 ** 3 }] })).code).to.equal(0);
    const s = await states();
    expect(s['dep/cad@1.0.0/install']).to.include({ state: 'not-applicable', reason: 'disk free 1 GiB < 2 GiB (condition enough-disk)' });
    expect(s['dep/fonts@1.0.0/install']).to.include({ state: 'not-applicable', reason: 'legacy-editor 1.0.3 is installed (condition no-legacy)' });
    expect(s['dep/lic@1.0.0/install']).to.include({ state: 'not-applicable', reason: 'check sh -c echo no license; exit 4 exited with code 4 (condition licensed)' });
    expect(await runs('cad')).to.deep.equal([]);
    expect(await runs('fonts')).to.deep.equal([]);
    expect(await runs('lic')).to.deep.equal([]);
  });

  it('a failing installer: exit code and output in the controller, exit 1, not retried until the plan changes', async () => {
    const p = await ctl.pushPackage('broken', '0.1.0', packageFiles('broken', '0.1.0', 100, { exit: 7 }));
    await ctl.setPlan(host, [action(p)]);
    expect((await once()).code).to.equal(1);
    const s = (await states())['dep/broken@0.1.0/install'];
    expect(s, JSON.stringify(s)).to.include({ state: 'failed', exitCode: 7, reason: 'install exited with code 7' });
    expect(s?.output).to.contain('installer of broken fails on purpose');
    expect((await once()).code).to.equal(1);
    expect(await runs('broken')).to.deep.equal(['0.1.0']);
  });

  it('a corrupted first source: sha256 mismatch is reported and the controller serves the content', async () => {
    const p = await ctl.pushPackage('fonts', '1.0.0', packageFiles('fonts', '1.0.0', 50_000));
    const bytes = await readFile(p.file);
    const relay = await startContentServer({ [`/v1/content/${p.sha256}`]: bytes });
    relay.faults.corrupt = true;
    try {
      await ctl.setPlan(host, [action(p)], {
        sources: [
          { kind: 'relay', name: 'osaka', url: relay.url },
          { kind: 'controller', name: 'controller' },
        ],
      });
      expect((await once()).code).to.equal(0);
      expect(relay.requests.length).to.be.greaterThan(0);
      const downloaded = (await ctl.store.history(host, 'dep/fonts@1.0.0/install')).find((r) => r.state === 'downloaded');
      expect(downloaded?.reason).to.match(/^sha256 verified; from controller after: osaka: sha256 mismatch/);
      expect(await runs('fonts')).to.deep.equal(['1.0.0']);
    } finally {
      await relay.close();
    }
  });

  it('split transfer: segment-sized Range requests with the pause between them', async () => {
    const p = await ctl.pushPackage('big', '1.0.0', packageFiles('big', '1.0.0', 300_000));
    const segment = 64 * 1024;
    await ctl.setPlan(host, [action(p, { distribute: { multicast: false, wake: false, segmentSize: segment, segmentPauseMs: 150 } })]);
    expect((await once()).code).to.equal(0);
    const served = ctl.content.filter((c) => c.status === 206);
    expect(served.length).to.equal(Math.ceil(p.size / segment));
    expect(served.reduce((n, c) => n + c.bytes, 0)).to.equal(p.size);
    served.forEach((c, i) => expect(c.range).to.equal(`bytes=${i * segment}-${Math.min((i + 1) * segment, p.size) - 1}`));
    for (let i = 1; i < served.length; i++) expect(served[i]!.at - served[i - 1]!.at).to.be.at.least(140);
  });

  it('suspend mid-transfer stops at a segment boundary; resume continues from that byte', async () => {
    const p = await ctl.pushPackage('suite', '1.0.0', packageFiles('suite', '1.0.0', 600_000));
    const segment = 64 * 1024;
    const distribute = { multicast: false, wake: false, segmentSize: segment, segmentPauseMs: 250 };
    await ctl.setPlan(host, [action(p, { distribute })]);
    const events = new MemorySink();
    const agent = await Agent.open(options({ events }));
    const stop = new AbortController();
    const running = agent.run(stop.signal);
    const passes = (serial: number) => (e: AgentEvent) => e.event === 'pass-finished' && e.serial === serial;
    try {
      await eventually(() => ctl.content.filter((c) => c.status === 206).length >= 2, 'two segments');
      const suspendedPlan = await ctl.setPlan(host, [action(p, { distribute, suspended: true })]);
      const suspended = await eventually(async () => {
        const s = (await states())['dep/suite@1.0.0/install'];
        return s?.state === 'suspended' && (s.bytesDone ?? 0) > 0 ? s : undefined;
      }, 'a suspended report');
      const servedAtPause = ctl.content.reduce((n, c) => n + c.bytes, 0);
      expect(suspended.bytesDone).to.equal(servedAtPause);
      expect(suspended.bytesDone! % segment).to.equal(0);
      expect(suspended.bytesDone).to.be.lessThan(p.size);
      // Two more whole passes under the suspended plan (one poll interval each): nothing more moves.
      await events.reached(passes(suspendedPlan.serial), events.events.filter(passes(suspendedPlan.serial)).length + 2);
      expect(ctl.content.reduce((n, c) => n + c.bytes, 0)).to.equal(servedAtPause);
      const count = ctl.content.length;
      await ctl.setPlan(host, [action(p, { distribute })]);
      await eventually(async () => (await states())['dep/suite@1.0.0/install']?.state === 'installed', 'installed after resume');
      expect(ctl.content[count]?.range).to.equal(`bytes=${suspended.bytesDone}-${suspended.bytesDone! + segment - 1}`);
      expect(ctl.content.reduce((n, c) => n + c.bytes, 0)).to.equal(p.size);
    } finally {
      stop.abort();
      await running;
      await agent.close();
    }
  });

  it('a rolled-back, an expired and a foreign-signed plan are rejected and reported; the last good plan stays', async () => {
    const p = await ctl.pushPackage('app', '1.0.0', packageFiles('app', '1.0.0'));
    const good = await ctl.setPlan(host, [action(p)]);
    expect((await once()).code).to.equal(0);
    const q = await ctl.pushPackage('evil', '6.6.6', packageFiles('evil', '6.6.6'));
    const newer = await ctl.setPlan(host, [action(p), action(q, { status: 'not-applicable', reason: 'x' })]);
    expect(newer.serial).to.equal(good.serial + 1);
    // Rollback: an older serial.
    await ctl.serveDocument(host, { ...newer, serial: good.serial - 1, actions: [action(q)] });
    expect((await once()).code).to.equal(1);
    let plan = (await states())['plan'];
    expect(plan?.state).to.equal('failed');
    expect(plan?.reason).to.match(/rollback: plan serial 0 is lower than the applied serial 1/);
    // Expired (freeze).
    await ctl.serveDocument(host, { ...newer, expiresAt: new Date(Date.now() - 1000).toISOString(), actions: [action(q)] });
    expect((await once()).code).to.equal(1);
    plan = (await states())['plan'];
    expect(plan?.reason).to.match(/freeze: plan expired/);
    // Signed by another key.
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await ctl.serveDocument(host, { ...newer, actions: [action(q)] }, other);
    expect((await once()).code).to.equal(1);
    expect((await states())['plan']?.reason).to.match(/signature does not match/);
    expect(await runs('evil')).to.deep.equal([]);
    // The good one again.
    await ctl.serveDocument(host, newer);
    expect((await once()).code).to.equal(0);
    expect((await states())['plan']).to.include({ state: 'installed' });
    expect(await runs('evil')).to.deep.equal([]);
  });

  it('windows: downloads in the distribution window, waits for the install window, then installs', async () => {
    const p = await ctl.pushPackage('office', '1.0.0', packageFiles('office', '1.0.0'));
    const at = (min: number) => new Date(Date.now() + min * 60_000).toISOString();
    const night = [{ start: at(-5), end: at(55) }];
    const later = [{ start: at(120), end: at(180) }];
    await ctl.setPlan(host, [action(p, { distribute: { multicast: false, wake: false, windows: later } })]);
    expect((await once()).code).to.equal(0);
    expect((await states())['dep/office@1.0.0/install']).to.include({ state: 'waiting', reason: `distribution window opens at ${later[0]!.start}` });
    expect(ctl.content).to.deep.equal([]);
    await ctl.setPlan(host, [action(p, { distribute: { multicast: false, wake: false, windows: night }, installWindows: later })]);
    expect((await once()).code).to.equal(0);
    expect((await states())['dep/office@1.0.0/install']).to.include({ state: 'waiting', reason: `downloaded; install window opens at ${later[0]!.start}` });
    expect(await runs('office')).to.deep.equal([]);
    await ctl.setPlan(host, [action(p, { distribute: { multicast: false, wake: false, windows: night }, installWindows: night })]);
    expect((await once()).code).to.equal(0);
    expect((await states())['dep/office@1.0.0/install']?.state).to.equal('installed');
    expect(ctl.content.filter((c) => c.status === 200)).to.have.length(1); // downloaded once
  });

  it('after a restart of the machine, content is hashed again and unpacked again before use; damaged content is fetched again', async () => {
    const p = await ctl.pushPackage('office', '1.0.0', packageFiles('office', '1.0.0'));
    const at = (min: number) => new Date(Date.now() + min * 60_000).toISOString();
    const now = [{ start: at(-5), end: at(55) }];
    const later = [{ start: at(120), end: at(180) }];
    const file = join(data, 'content', `${p.sha256}.tar.gz`);
    const record = `${file}.verified`;
    const unpacked = join(data, 'packages', 'office', `1.0.0-${p.sha256.slice(0, 8)}`);
    const fromEarlierBoot = async (path = file) => {
      const r = JSON.parse(await readFile(`${path}.verified`, 'utf8')) as { boot: string };
      await writeFile(`${path}.verified`, JSON.stringify({ ...r, boot: 'an-earlier-boot' }));
    };
    await ctl.setPlan(host, [action(p, { distribute: { multicast: false, wake: false, windows: now }, installWindows: later })]);
    expect((await once()).code).to.equal(0);
    expect((await states())['dep/office@1.0.0/install']?.state).to.equal('waiting');
    const bootNow = (JSON.parse(await readFile(record, 'utf8')) as { boot: string }).boot;

    // Intact content from an earlier boot: hashed again, trusted, not fetched again.
    await fromEarlierBoot();
    expect((await once()).code).to.equal(0);
    expect((JSON.parse(await readFile(record, 'utf8')) as { boot: string }).boot).to.equal(bootNow);
    expect(ctl.content.filter((c) => c.status === 200)).to.have.length(1);

    // Content and an unpacked installer a power cut damaged: removed, fetched and unpacked again, installed.
    const bytes = await readFile(file);
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(file, bytes);
    await fromEarlierBoot();
    await writeFile(join(unpacked, 'install.sh'), ''); // `sh` would run an empty installer and succeed
    await fromEarlierBoot(unpacked);
    await ctl.setPlan(host, [action(p, { distribute: { multicast: false, wake: false, windows: now }, installWindows: now })]);
    const run = await once();
    expect(run.code).to.equal(0);
    expect(run.events.events.map((e) => e.event)).to.include('content-corrupt');
    expect((await states())['dep/office@1.0.0/install']?.state).to.equal('installed');
    expect(ctl.content.filter((c) => c.status === 200)).to.have.length(2);
    expect(await runs('office')).to.have.length(1); // the real installer ran
    expect((await readFile(join(unpacked, 'install.sh'), 'utf8')).length).to.be.greaterThan(0);
  });

  it('shutdownAfter runs the shutdown command once, when nothing else is pending', async () => {
    const p = await ctl.pushPackage('os-patch', '1.0.0', packageFiles('os-patch', '1.0.0'));
    await ctl.setPlan(host, [action(p, { shutdownAfter: true })]);
    expect((await once()).code).to.equal(0);
    expect((await once()).code).to.equal(0);
    expect(await readFile(join(work, 'shutdowns'), 'utf8')).to.equal('down\n');
  });

  it('a rejected enrollment of an existing host name says to ask an admin', async () => {
    expect((await once()).code).to.equal(0);
    const err = await once({ dataDir: join(work, 'data2') }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.contain(`ask an admin to reset host ${host}`);
  });
});
