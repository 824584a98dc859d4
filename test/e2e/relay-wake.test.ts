/**
 * Wake-on-LAN from the relay (issue 13): a real controller whose manifests give host osk-1 to
 * Relay osaka (its own wakeBroadcast) and osk-2 to Relay kobe (none: the relay's
 * --wake-broadcast), both run by one `ferry agent --relay` process. `POST /v1/hosts/{host}/wake`
 * reaches the relay on its work poll; UDP listeners on loopback capture the exact 102 bytes the
 * relay process sends, the controller's own broadcast address gets nothing, and host history says
 * "woken at …, by relay osaka".
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningController } from '../../controller/controller.js';
import { ensureBuilt } from '../agent/runtime/build.js';
import { listenUdp, type UdpListener } from '../controller/wake/udp-listener.js';
import { packetFor } from '../controller/wake/wake-fleet.js';
import { startTestController } from '../support/controller.js';
import { eventually } from '../support/eventually.js';
import { callJson } from '../support/http.js';
import { runFerry } from '../support/ferry.js';
import { type RelayProcess, startRelayProcess } from './relay-process.js';

describe('relay end to end: Wake-on-LAN sent by the relay', function () {
  this.timeout(120_000);
  let dir: string;
  let controller: RunningController;
  let relay: RelayProcess | undefined;
  const listeners: Record<'controller' | 'site' | 'relayFlag', UdpListener> = {} as never;
  let admin: string;

  before(async function () {
    this.timeout(300_000);
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'ferry-relay-wake-'));
    listeners.controller = await listenUdp();
    listeners.site = await listenUdp();
    listeners.relayFlag = await listenUdp();
    await mkdir(join(dir, 'manifests'));
    await writeFile(
      join(dir, 'manifests', 'site.yaml'),
      `apiVersion: ferry/v1
kind: Relay
metadata: {name: osaka}
spec: {host: relay-osaka, url: "http://127.0.0.1:9", serves: {hosts: [osk-1]}, wakeBroadcast: "127.0.0.1:${listeners.site.port}"}
---
apiVersion: ferry/v1
kind: Relay
metadata: {name: kobe}
spec: {host: relay-osaka, url: "http://127.0.0.1:9", serves: {hosts: [osk-2]}}
---
apiVersion: ferry/v1
kind: Host
metadata: {name: osk-1}
spec: {mac: "00:11:22:33:44:55"}
---
apiVersion: ferry/v1
kind: Host
metadata: {name: osk-2}
spec: {mac: "0a:1b:2c:3d:4e:5f"}
`,
    );
    controller = await startTestController({ dir: join(dir, 'manifests'), data: join(dir, 'data'), wakeBroadcast: `127.0.0.1:${listeners.controller.port}` });
    admin = (await readFile(controller.adminTokenFile, 'utf8')).trim();
    const token = (await callJson(controller.url, 'POST', '/v1/tokens', admin, {})).body.token as string;
    for (const host of ['osk-1', 'osk-2']) await callJson(controller.url, 'POST', '/v1/enroll', '', { token, host, facts: {}, labels: {} });
    relay = await startRelayProcess({
      listen: '127.0.0.1:0',
      server: controller.url,
      token: (await callJson(controller.url, 'POST', '/v1/tokens', admin, {})).body.token as string,
      name: 'relay-osaka',
      data: join(dir, 'relay'),
      installRoot: join(dir, 'relay-root'),
      extra: ['--wake-broadcast', `127.0.0.1:${listeners.relayFlag.port}`],
    });
    await eventually(
      async () => (await callJson(controller.url, 'GET', '/v1/relays', admin)).body.relays?.every((r: { lastSeen: unknown }) => r.lastSeen !== null),
      'the relay polls its work',
    );
  });
  after(async () => {
    await relay?.stop();
    await controller?.stop();
    for (const l of Object.values(listeners)) await l.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the relay sends the magic packet to its Relay manifest broadcast address; history says by relay osaka', async () => {
    const r = await callJson(controller.url, 'POST', '/v1/hosts/osk-1/wake', admin);
    const to = `127.0.0.1:${listeners.site.port}`;
    const message = `woken at ${r.body.at}, by relay osaka (magic packet for 00:11:22:33:44:55 from Host manifest to ${to})`;
    expect({ status: r.status, body: r.body }).to.deep.equal({
      status: 200,
      body: { host: 'osk-1', ok: true, mac: '00:11:22:33:44:55', macFrom: 'Host manifest', by: 'relay osaka', to, at: r.body.at, message },
    });
    const [packet] = await listeners.site.next(1);
    expect(packet!.length).to.equal(102);
    expect(packet!.toString('hex')).to.equal(packetFor('001122334455'));
    const history = (await callJson(controller.url, 'GET', '/v1/hosts/osk-1?history=5', admin)).body.history as { actionId: string; reason: string }[];
    expect(history.filter((h) => h.actionId === 'wake').map((h) => h.reason)).to.deep.equal([message]);
  });

  it('without a broadcast address in its manifest the relay uses its --wake-broadcast; the controller sends nothing itself', async () => {
    const r = await callJson(controller.url, 'POST', '/v1/hosts/osk-2/wake', admin);
    expect([r.status, r.body.by, r.body.to]).to.deep.equal([200, 'relay kobe', `127.0.0.1:${listeners.relayFlag.port}`]);
    const [packet] = await listeners.relayFlag.next(1);
    expect(packet!.toString('hex')).to.equal(packetFor('0a1b2c3d4e5f'));
    expect(listeners.controller.received).to.deep.equal([]);
  });

  it('ferry hosts says which relay each host reaches through; ferry status lists the relays with their figures', async () => {
    const env = { FERRY_SERVER: controller.url, FERRY_TOKEN: admin };
    const hosts = await runFerry(['hosts'], { env });
    const via = Object.fromEntries(
      hosts.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s{2,}/))
        .map((cols) => [cols[0], cols[3]]),
    );
    expect(via).to.deep.equal({ 'osk-1': 'relay osaka', 'osk-2': 'relay kobe', 'relay-osaka': 'direct' });
    const status = await runFerry(['status'], { env });
    const relays = status.stdout.split('\n').filter((l) => /^(RELAY|kobe|osaka) /.test(l));
    expect(relays.map((l) => l.split(/\s{2,}/).filter((_c, i) => i !== 2))).to.deep.equal([
      ['RELAY', 'HOST', 'HOSTS', 'CACHE', 'HIT RATIO', 'SERVED / FETCHED', 'QUEUED'],
      ['kobe', 'relay-osaka', '1', '0 B of 64 MiB', '-', '0 B / 0 B', '0'],
      ['osaka', 'relay-osaka', '1', '0 B of 64 MiB', '-', '0 B / 0 B', '0'],
    ]);
  });
});
