/**
 * A real controller (plain manifest directory, SQLite, HTTP on port 0) whose `--wake-broadcast` is
 * a UDP listener on 127.0.0.1, with four enrolled hosts: web1 (MAC in its Host manifest), web2
 * (MAC reported in its inventory only), web3 (no MAC anywhere), zero (an all-zero MAC in git).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningController } from '../../../controller/controller.js';
import { startTestController } from '../../support/controller.js';
import { callJson } from '../../support/http.js';
import { eventually } from '../../support/eventually.js';
import { listenUdp, type UdpListener } from './udp-listener.js';

export interface WakeFleet {
  readonly controller: RunningController;
  readonly listener: UdpListener;
  readonly adminToken: string;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

const manifests = `apiVersion: ferry/v1
kind: Host
metadata: {name: web1}
spec: {mac: "00:11:22:33:44:55"}
---
apiVersion: ferry/v1
kind: Host
metadata: {name: zero}
spec: {mac: "00:00:00:00:00:00"}
---
apiVersion: ferry/v1
kind: Group
metadata: {name: lab}
spec:
  hosts: [web1, web2, web3]
`;

export async function startWakeFleet(): Promise<WakeFleet> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-wake-'));
  const manifestDir = join(dir, 'manifests');
  await import('node:fs/promises').then((fs) => fs.mkdir(manifestDir));
  await writeFile(join(manifestDir, 'fleet.yaml'), manifests);
  const listener = await listenUdp();
  const controller = await startTestController({
    dir: manifestDir,
    data: join(dir, 'data'),
    pollMs: 60_000,
    wakeBroadcast: `127.0.0.1:${listener.port}`,
  });
  const adminToken = (await readFile(controller.adminTokenFile, 'utf8')).trim();
  const call = (method: string, path: string, body?: unknown, token = adminToken) => callJson(controller.url, method, path, token, body);
  const token = (await call('POST', '/v1/tokens', {})).body.token as string;
  for (const host of ['web1', 'web2', 'web3', 'zero']) {
    const enrolled = await call('POST', '/v1/enroll', { token, host, facts: {}, labels: {} });
    const network = host === 'web2' ? [{ name: 'eth0', mac: '0A:1B:2C:3D:4E:5F', ipv4: '10.0.0.2' }] : [];
    await call('PUT', `/v1/hosts/${host}/inventory`, { facts: { network }, labels: {}, software: [] }, enrolled.body.credential);
  }
  await eventually(() => controller.reconciler()?.groups()?.get('lab')?.size === 3, 'the lab group to resolve');
  return {
    controller,
    listener,
    adminToken,
    call: (method, path, body) => call(method, path, body),
    async close() {
      await controller.stop();
      await listener.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The 102 bytes that wake `mac` (hex without separators). */
export const packetFor = (macHex: string): string => `${'ff'.repeat(6)}${macHex.repeat(16)}`;
