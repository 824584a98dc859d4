/**
 * Issue 17: onboarding a fleet through the public API costs work per host that does not grow
 * with the fleet. Hosts enroll and send their first inventory over HTTP (many source addresses,
 * so the per-address enrollment limit does not apply) to a real controller on SQLite; the
 * reconciler's counters must show each host planned once and each inventory read once, in
 * passes that coalesce many hosts — the same in the first half of the fleet as in the second.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningController } from '../../controller/controller.js';
import { startTestController } from '../support/controller.js';
import type { ReconcileCounters } from '../../controller/reconcile/status.js';
import { eventually } from '../support/eventually.js';
import { sendJson } from '../support/http.js';

const HOSTS = 2000;
const CONCURRENCY = 48;

function groupsYaml(): string {
  const docs: string[] = [];
  for (let g = 0; g < 18; g++) {
    docs.push(`apiVersion: ferry/v1\nkind: Group\nmetadata: {name: group-${g}}\nspec:\n  selector:\n    labels: {slot: s${g}}\n`);
  }
  return docs.join('---\n');
}

async function send(port: number, method: string, path: string, token: string, body: unknown, localAddress: string): Promise<{ status: number; body: any }> {
  const reply = await sendJson(new Agent({ keepAlive: false }), port, method, path, token, body, localAddress);
  return { status: reply.status, body: JSON.parse(reply.body) };
}

/** 127.0.a.b for host i: 5 hosts per address. */
const addressOf = (i: number): string => `127.0.${(Math.floor(i / 5) >> 8) + 1}.${Math.floor(i / 5) & 255}`;

describe('onboarding a fleet through the API (issue 17)', function () {
  // Counts are asserted, not time: generous so a loaded machine does not fail it.
  this.timeout(300_000);
  let data: string;
  let controller: RunningController;
  let token: string;
  const credentials = new Map<string, string>();

  before(async () => {
    data = await mkdtemp(join(tmpdir(), 'ferry-onboard-'));
    await mkdir(join(data, 'manifests'));
    await writeFile(join(data, 'manifests', 'groups.yaml'), groupsYaml());
    controller = await startTestController({ dir: join(data, 'manifests'), data: join(data, 'data') });
    const admin = (await readFile(controller.adminTokenFile, 'utf8')).trim();
    const created = await send(controller.port, 'POST', '/v1/tokens', admin, { ttl: '1h' }, '127.0.0.1');
    token = created.body.token;
  });
  after(async () => {
    await controller.stop();
    await rm(data, { recursive: true, force: true });
  });

  const counters = (): ReconcileCounters => controller.reconciler()!.status().counters;

  async function onboard(from: number, to: number): Promise<void> {
    let next = from;
    const worker = async () => {
      for (let i = next++; i < to; i = next++) {
        const host = `host-${String(i).padStart(5, '0')}`;
        const labels = { slot: `s${i % 18}` };
        const enrolled = await send(controller.port, 'POST', '/v1/enroll', '', { token, host, facts: {}, labels }, addressOf(i));
        expect(enrolled.status, JSON.stringify(enrolled.body)).to.equal(201);
        credentials.set(host, enrolled.body.credential);
        const inv = await send(controller.port, 'PUT', `/v1/hosts/${host}/inventory`, enrolled.body.credential, { facts: { cpus: 4 }, labels, software: [] }, addressOf(i));
        expect(inv.status).to.equal(200);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // Every host of this batch read and planned (the fleet started empty).
    await eventually(() => counters().inventoriesRead >= to && counters().hostsPlanned >= to, `${to} hosts planned`, 120_000);
  }

  it('plans each new host once, reading only its inventory, in coalesced passes — as cheaply at 2,000 hosts as at 1', async () => {
    await eventually(() => controller.reconciler()?.status().appliedRevision, 'the manifests applied');
    const start = counters();
    await onboard(0, HOSTS / 2);
    const half = counters();
    await onboard(HOSTS / 2, HOSTS);
    const full = counters();

    const work = (a: ReconcileCounters, b: ReconcileCounters) => ({ hostsPlanned: b.hostsPlanned - a.hostsPlanned, inventoriesRead: b.inventoriesRead - a.inventoriesRead });
    expect({ first: work(start, half), second: work(half, full) }).to.deep.equal({
      first: { hostsPlanned: HOSTS / 2, inventoriesRead: HOSTS / 2 },
      second: { hostsPlanned: HOSTS / 2, inventoriesRead: HOSTS / 2 },
    });
    // Passes coalesce: far fewer than one per enrollment and inventory.
    expect(full.passes - start.passes).to.be.below(HOSTS / 4);

    const plan = await fetch(`${controller.url}/v1/hosts/host-01999/plan`, { headers: { authorization: `Bearer ${credentials.get('host-01999')}` } });
    expect(plan.status).to.equal(200);
  });

  it('inventory churn re-plans only the hosts whose facts changed', async () => {
    const before = counters();
    const changed = Array.from({ length: 20 }, (_, k) => k * 97);
    await Promise.all(
      changed.map(async (i) => {
        const host = `host-${String(i).padStart(5, '0')}`;
        const res = await send(
          controller.port,
          'PUT',
          `/v1/hosts/${host}/inventory`,
          credentials.get(host)!,
          { facts: { cpus: 8 }, labels: { slot: `s${i % 18}` }, software: [] },
          addressOf(i),
        );
        expect(res.body).to.include({ changed: true });
      }),
    );
    await eventually(() => counters().inventoriesRead >= before.inventoriesRead + changed.length, 'the changed inventories planned');
    await eventually(() => counters().hostsPlanned >= before.hostsPlanned + changed.length, 'the changed hosts planned');
    const after = counters();
    expect({ hostsPlanned: after.hostsPlanned - before.hostsPlanned, inventoriesRead: after.inventoriesRead - before.inventoriesRead }).to.deep.equal({
      hostsPlanned: changed.length,
      inventoriesRead: changed.length,
    });
  });
});
