/**
 * Automatic wake on a real controller (plain manifest directory, SQLite, HTTP, UDP on loopback):
 * a quiet host targeted by a `wake: true` deployment is woken when its distribution opens, and
 * again 15 minutes later while it stays quiet. The controller's clock is the test's (it starts at
 * the wall clock: plan polls mark hosts seen by the wall clock, controller/api/fast-plan.ts).
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningController } from '../../../controller/controller.js';
import { startTestController } from '../../support/controller.js';
import { callJson } from '../../support/http.js';
import { eventually } from '../../support/eventually.js';
import { listenUdp, type UdpListener } from './udp-listener.js';
import { packetFor } from './wake-fleet.js';
import { deploymentYaml, packageYaml } from './manifest-yaml.js';
import { systemClock } from '../../../lib/clock.js';

const manifests = [
  packageYaml('hello', '1.0.0', 'sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824, size: 5', ['install: {command: [sh, install.sh]}']),
  deploymentYaml('night-install', 'hello', '1.0.0', ['pc1', 'pc2'], 'distribute: {notBefore: "NOT_BEFORE", wake: true}'),
  deploymentYaml('day-install', 'hello', '1.0.0', ['pc3'], 'distribute: {notBefore: "NOT_BEFORE"}'),
].join('---\n');

describe('wake: automatic wake when a distribution opens', function () {
  this.timeout(60_000);
  let dir: string;
  let listener: UdpListener;
  let controller: RunningController;
  const base = Math.floor(Date.now() / 1000) * 1000;
  const opens = base + 3_600_000;
  let t = base;
  const iso = (ms: number) => new Date(ms).toISOString();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-autowake-'));
    await mkdir(join(dir, 'manifests'));
    await writeFile(join(dir, 'manifests', 'fleet.yaml'), manifests.replaceAll('NOT_BEFORE', iso(opens)));
    listener = await listenUdp();
    controller = await startTestController({
      dir: join(dir, 'manifests'),
      data: join(dir, 'data'),
      pollMs: 60_000,
      clock: { now: () => t, sleep: systemClock.sleep },
      wakeBroadcast: `127.0.0.1:${listener.port}`,
      autoWakeIntervalMs: 20,
    });
  });
  after(async () => {
    await controller.stop();
    await listener.close();
    await rm(dir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, token: string, body?: unknown) => callJson(controller.url, method, path, token, body);

  it('wakes the quiet targeted host at opening, again after 15 minutes, and no other host', async () => {
    const admin = (await readFile(controller.adminTokenFile, 'utf8')).trim();
    const pushed = await fetch(`${controller.url}/v1/content/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}` },
      body: 'hello',
    });
    expect(pushed.status).to.be.within(200, 204);
    const token = (await call('POST', '/v1/tokens', admin, {})).body.token as string;
    // pc1 and pc2: wake deployment; pc3: a deployment without wake. pc2 polls every hour: not quiet yet.
    const credentials: Record<string, string> = {};
    for (const [host, mac] of [
      ['pc1', '02:00:00:00:00:01'],
      ['pc2', '02:00:00:00:00:02'],
      ['pc3', '02:00:00:00:00:03'],
    ] as const) {
      credentials[host] = (await call('POST', '/v1/enroll', token, { token, host, facts: {}, labels: {} })).body.credential;
      const facts = { network: [{ name: 'eth0', mac }], agent: { version: 'test', pollIntervalMs: host === 'pc2' ? 3_600_000 : 5000 } };
      expect((await call('PUT', `/v1/hosts/${host}/inventory`, credentials[host]!, { facts, labels: {}, software: [] })).status).to.be.within(200, 204);
    }
    for (const host of ['pc1', 'pc2', 'pc3']) await eventually(async () => (await call('GET', `/v1/hosts/${host}/plan`, credentials[host]!)).status === 200, `the plan of ${host}`);

    const lastSeen = (await call('GET', '/v1/hosts/pc1?history=0', admin)).body.host.lastSeenAt as string;
    // The distribution opens; pc1 was last heard from an hour ago (quiet: more than 2 × 5 s + 60 s).
    t = opens + 5000;
    const [first] = await listener.next(1);
    expect(first!.toString('hex')).to.equal(packetFor('020000000001'));

    t = opens + 5000 + 15 * 60_000;
    const packets = await listener.next(2);
    expect(packets.map((p) => p.toString('hex'))).to.deep.equal([packetFor('020000000001'), packetFor('020000000001')]);

    const history = async (host: string) =>
      ((await call('GET', `/v1/hosts/${host}?history=50`, admin)).body.history as { actionId: string; at: string; reason: string }[])
        .filter((h) => h.actionId === 'wake')
        .map((h) => [h.at, h.reason]);
    const why = `distribution of night-install open; quiet since ${lastSeen} (poll interval 5s)`;
    const via = `by controller (magic packet for 02:00:00:00:00:01 from inventory (eth0) to 127.0.0.1:${listener.port})`;
    expect(await history('pc1')).to.deep.equal([
      [iso(opens + 5000), `woken at ${iso(opens + 5000)}, ${via}: ${why}`],
      [iso(opens + 905_000), `woken at ${iso(opens + 905_000)}, ${via}: ${why}`],
    ]);
    expect([await history('pc2'), await history('pc3')]).to.deep.equal([[], []]);
  });
});
