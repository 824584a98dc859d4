/**
 * Seeding a real API (test/controller/api/harness.ts) with a fleet the way agents would:
 * enrollment, inventory and reports through the agent API; plans through the store.
 */
import { randomUUID } from 'node:crypto';
import type { ActionState, Facts, PlanAction } from '../../core/plan/types.js';
import type { Harness } from '../controller/api/harness.js';

export interface HostSpec {
  readonly name: string;
  readonly facts?: Facts;
  readonly labels?: Record<string, string>;
  readonly software?: { name: string; version: string; source: string }[];
}

export interface ReportSpec {
  readonly state: ActionState;
  readonly at?: Date;
  readonly reason?: string;
  readonly exitCode?: number;
  readonly output?: string;
  readonly bytesDone?: number;
}

/** Enrolls hosts through `POST /v1/enroll` with one enrollment token; returns their credentials. */
export async function enrollAll(h: Harness, hosts: readonly HostSpec[]): Promise<Map<string, string>> {
  const { token } = await h.store.createToken({ ttlMs: 3_600_000, now: new Date() });
  const credentials = new Map<string, string>();
  for (const host of hosts) {
    const r = await h.request('POST', '/v1/enroll', { token: null, json: { token, host: host.name, facts: host.facts ?? {}, labels: host.labels ?? {} } });
    if (r.status !== 201) throw new Error(`enroll ${host.name}: ${r.status} ${r.text}`);
    const credential = r.json.credential as string;
    credentials.set(host.name, credential);
    if (host.facts) {
      const inv = await h.request('PUT', `/v1/hosts/${host.name}/inventory`, {
        token: credential,
        json: { facts: host.facts, labels: host.labels ?? {}, software: host.software ?? [] },
      });
      if (inv.status >= 300) throw new Error(`inventory ${host.name}: ${inv.status} ${inv.text}`);
    }
  }
  return credentials;
}

/** Posts one report per action through `POST /v1/hosts/{host}/reports` with the host's credential. */
export async function report(h: Harness, host: string, credential: string, results: readonly (ReportSpec & { actionId: string })[]): Promise<void> {
  const body = {
    results: results.map((r) => ({
      id: randomUUID(),
      actionId: r.actionId,
      serial: 1,
      state: r.state,
      at: (r.at ?? new Date()).toISOString(),
      ...(r.reason !== undefined && { reason: r.reason }),
      ...(r.exitCode !== undefined && { exitCode: r.exitCode }),
      ...(r.output !== undefined && { output: r.output }),
      ...(r.bytesDone !== undefined && { bytesDone: r.bytesDone }),
    })),
  };
  const res = await h.request('POST', `/v1/hosts/${host}/reports`, { token: credential, json: body });
  if (res.status !== 200) throw new Error(`report ${host}: ${res.status} ${res.text}`);
}

/** The action id the planner gives an action (`DEPLOYMENT/PACKAGE@VERSION/OP`). */
export const actionId = (deployment: string, pkg: string, version: string, op: 'install' | 'uninstall' = 'install'): string => `${deployment}/${pkg}@${version}/${op}`;

/** A plan action as the planner would write it, with room to override any field. */
export function planAction(deployment: string, pkg: string, version: string, extra: Partial<PlanAction> = {}): PlanAction {
  const op = extra.op ?? 'install';
  return {
    id: actionId(deployment, pkg, version, op),
    deployment,
    package: pkg,
    version,
    op,
    status: 'planned',
    blockedBy: [],
    artifact: { sha256: 'a'.repeat(64), size: 48 * 1024 * 1024 },
    install: { command: ['sh', 'install.sh'], timeoutMs: 600_000, env: {} },
    conditions: [],
    distribute: { multicast: false, wake: false },
    shutdownAfter: false,
    suspended: false,
    ...extra,
  };
}

/** Facts of a plausible workstation. */
export function workstationFacts(name: string, i: number, overrides: Partial<Facts> = {}): Facts {
  const gib = 1024 ** 3;
  return {
    hostname: name,
    os: { platform: 'linux', release: '6.1.0-25-amd64', distribution: 'Debian GNU/Linux 12' },
    arch: i % 5 === 0 ? 'arm64' : 'x64',
    cpus: [4, 8, 8, 16][i % 4],
    memory: { total: [8, 16, 16, 32][i % 4]! * gib },
    disk: { installRoot: { free: (40 + ((i * 37) % 180)) * gib, total: 256 * gib }, data: { free: (12 + (i % 30)) * gib, total: 64 * gib } },
    network: [{ name: 'eth0', ipv4: `10.20.${Math.floor(i / 200)}.${(i % 200) + 10}`, mac: `00:16:3e:${hex(i >> 8)}:${hex(i)}:${hex(i * 7)}` }],
    timezone: 'Asia/Tokyo',
    agent: { version: '0.1.0' },
    ...overrides,
  };
}

const hex = (n: number): string => (n & 0xff).toString(16).padStart(2, '0');

/** Minutes ago, as a Date. */
export const minutesAgo = (m: number): Date => new Date(Date.now() - m * 60_000);
