/** The facts a host reports about itself (DESIGN §2 inventory): read from the OS, nothing decided here. */
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import type { DiskFacts, Facts } from '../../core/plan/types.js';
import { agentVersion } from '../version.js';

export interface FactOptions {
  readonly hostname: string;
  readonly dataDir: string;
  readonly installRoot: string;
  /** The agent's poll interval, reported as `agent.pollIntervalMs`. */
  readonly pollIntervalMs?: number;
}

/** Free space is reported in steps of this many bytes, so the inventory (and its hash) does not change with every write. */
export const diskStep = 64 * 1024 * 1024;

export async function collectFacts(o: FactOptions): Promise<Facts> {
  const [distribution, data, installRoot] = await Promise.all([osDistribution(), diskOf(o.dataDir), diskOf(o.installRoot)]);
  return {
    hostname: o.hostname,
    os: { platform: os.platform(), release: os.release(), ...(distribution ? { distribution } : {}) },
    arch: os.arch(),
    cpus: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    memory: { total: os.totalmem() },
    disk: { ...(data ? { data } : {}), ...(installRoot ? { installRoot } : {}) },
    network: interfaces(),
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    agent: { version: agentVersion, ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}) },
  };
}

/** `PRETTY_NAME` (else `ID VERSION_ID`) of /etc/os-release; undefined where there is none. */
async function osDistribution(): Promise<string | undefined> {
  const text = await readFile('/etc/os-release', 'utf8').catch(() => readFile('/usr/lib/os-release', 'utf8').catch(() => ''));
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1]!, m[2]!.replace(/^["']|["']$/g, ''));
  }
  return fields.get('PRETTY_NAME') ?? ([fields.get('ID'), fields.get('VERSION_ID')].filter(Boolean).join(' ') || undefined);
}

/** Free and total bytes of the file system holding `path` (its nearest existing ancestor). */
async function diskOf(path: string): Promise<DiskFacts | undefined> {
  let at = resolve(path);
  for (;;) {
    try {
      const s = await statfs(at);
      const free = s.bavail * s.bsize;
      return { free: Math.floor(free / diskStep) * diskStep, total: s.blocks * s.bsize };
    } catch {
      const up = dirname(at);
      if (up === at) return undefined;
      at = up;
    }
  }
}

function interfaces(): { name: string; mac?: string; ipv4?: string }[] {
  const out: { name: string; mac?: string; ipv4?: string }[] = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces()).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!addrs || addrs.every((a) => a.internal)) continue;
    const v4 = addrs.find((a) => a.family === 'IPv4');
    const mac = addrs.find((a) => a.mac && a.mac !== '00:00:00:00:00:00')?.mac;
    out.push({ name, ...(mac ? { mac } : {}), ...(v4 ? { ipv4: v4.address } : {}) });
  }
  return out;
}
