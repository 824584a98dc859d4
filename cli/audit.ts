/**
 * `ferry audit HOST [--json]`: every install and uninstall on a host, oldest first, back to the
 * manifest revision (commit) it came from, the artifact digest and the publisher key — the chain
 * of custody. The host's `installed` reports carry what it verified itself (custody); for older
 * reports the controller's current plan fills in what it can, marked so.
 */
import type { Command } from 'commander';
import type { Custody } from '../core/plan/types.js';
import { addClientOptions, adminClient, table, type ClientOptions } from './client.js';

interface HistoryReport {
  readonly actionId: string;
  readonly serial: number;
  readonly state: string;
  readonly at: string;
  readonly custody?: Custody;
  readonly source?: string;
}

interface PlannedAction {
  readonly id: string;
  readonly artifact: { readonly sha256: string; readonly signatures?: readonly { readonly key: string }[] };
}

interface HostAudit {
  readonly plan: { readonly serial: number; readonly revision: string; readonly body: { readonly actions: readonly PlannedAction[] } } | null;
  readonly history: readonly HistoryReport[];
  readonly historyTotal: number;
}

/** One line of the chain of custody. */
export interface AuditEntry {
  readonly at: string;
  readonly op: 'install' | 'uninstall';
  readonly actionId: string;
  readonly deployment: string;
  readonly package: string;
  readonly version: string;
  readonly serial: number;
  /** `main@sha1:…`: the reviewed commit the plan was made from. */
  readonly revision?: string;
  readonly sha256?: string;
  /** The publisher key fingerprint. */
  readonly publisher?: string;
  /** `host`: what the host verified and reported; `plan`: the controller's current plan (the host reported no custody); `unknown`. */
  readonly evidence: 'host' | 'plan' | 'unknown';
}

const historyLimit = 10_000;

export function configure(cmd: Command): void {
  addClientOptions(cmd.description('every install on a host back to its commit, publisher key and artifact digest (chain of custody)'), true)
    .argument('<HOST>', 'the host to audit')
    .action(async (host: string, opts: ClientOptions) => {
      const d = await adminClient(opts).call<HostAudit>('GET', `/v1/hosts/${encodeURIComponent(host)}?history=${historyLimit}`);
      const entries = auditEntries(d);
      const truncated = d.historyTotal > d.history.length;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ host, entries, ...(truncated ? { truncated: true } : {}) }, null, 2)}\n`);
        return;
      }
      if (entries.length === 0) {
        process.stdout.write(`${host}: no install or uninstall reported yet\n`);
        return;
      }
      const rows = entries.map((e) => [
        e.at,
        `${e.op} ${e.package}@${e.version}`,
        e.deployment,
        e.revision ?? '-',
        e.sha256 ?? '-',
        e.publisher ?? (e.evidence === 'unknown' || e.op === 'uninstall' ? '-' : 'unsigned'),
        e.evidence,
      ]);
      process.stdout.write(table([['AT', 'ACTION', 'DEPLOYMENT', 'REVISION', 'SHA256', 'PUBLISHER', 'EVIDENCE'], ...rows]));
      if (truncated) process.stderr.write(`note: only the newest ${d.history.length} of ${d.historyTotal} reports were read; older history is not shown\n`);
    });
}

/** The installs and uninstalls of a host's report history, oldest first, with their custody. */
export function auditEntries(d: HostAudit): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (const r of [...d.history].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))) {
    if (r.state !== 'installed' && r.state !== 'uninstalled') continue;
    const m = /^(.+)\/([^/@]+)@([^/]+)\/(install|uninstall)$/.exec(r.actionId);
    if (!m) continue;
    const [, deployment, pkg, version, op] = m as unknown as [string, string, string, string, 'install' | 'uninstall'];
    const base = { at: r.at, op, actionId: r.actionId, deployment, package: pkg, version, serial: r.serial };
    if (r.custody) {
      out.push({ ...base, revision: r.custody.revision, sha256: r.custody.sha256, ...(r.custody.publisher ? { publisher: r.custody.publisher } : {}), evidence: 'host' });
      continue;
    }
    const planned = d.plan?.serial === r.serial ? d.plan.body.actions.find((a) => a.id === r.actionId) : undefined;
    if (planned && d.plan) {
      const publisher = planned.artifact.signatures?.map((s) => s.key).join(', ');
      out.push({ ...base, revision: d.plan.revision, sha256: planned.artifact.sha256, ...(publisher ? { publisher } : {}), evidence: 'plan' });
    } else out.push({ ...base, evidence: 'unknown' });
  }
  return out;
}
