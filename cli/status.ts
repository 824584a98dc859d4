/**
 * `ferry status [DEPLOYMENT]`: per deployment, how many actions are pending, installed,
 * failed or not applicable, which hosts fail and why, and what git revision is in force
 * (with a rejected revision's errors). Exit 1 when a deployment has failures.
 */
import type { Command } from 'commander';
import type { DeploymentSummary, FailureView, SuspensionView, UnavailableContentView } from '../controller/api/routes-admin.js';
import { addClientOptions, adminClient, formatCounts, outputTail, table, type ClientOptions } from './client.js';
import { ExitCode, setExitCode } from './errors.js';
import { fetchRelays, relayLines, type RelayView } from './relays-view.js';

interface StatusReply {
  readonly source: {
    readonly lastAppliedRevision?: string;
    readonly lastAppliedAt?: string;
    readonly lastAttemptedRevision?: string;
    readonly rejected?: { revision: string; at: string; message?: string; problems: { file: string; line: number; col: number; severity: string; message: string }[] };
    /** The controller's own view: whether it leads, and its source (absent on a follower). */
    readonly fetch?: {
      leader?: boolean;
      source?: { kind?: string; revision?: string; url?: string; branch?: string; error?: { message: string; at: string; failures: number; nextAttemptAt: string } };
    } | null;
  };
  readonly hosts: { total: number; enrolled: number; reset: number };
  readonly deployments: DeploymentSummary[];
  readonly failures: FailureView[];
  readonly failuresTotal: number;
  /** Absent from controllers older than content ingestion. */
  readonly content?: { readonly revision?: string; readonly unavailable: UnavailableContentView[] };
}

/** A targeted host: every action of its current plan, in its reported state or, before a report, its planned one. */
interface HostRow {
  readonly host: string;
  readonly state: string;
  /** Absent while the host has not reported on any of these actions. */
  readonly lastReportAt?: string;
  readonly actions: {
    actionId: string;
    state: string;
    version?: string;
    reason?: string;
    exitCode?: number;
    output?: string;
    at?: string;
    bytesDone?: number;
    source?: string;
  }[];
  /** The newest wake ("woken at …, by relay …") and shutdown ("shut down after install …"), when there are any. */
  readonly power?: { actionId: string; at: string; reason?: string }[];
}

interface DeploymentReply extends DeploymentSummary {
  readonly packages?: { name: string; version: string; state: string }[];
  readonly hosts: { total: number; offset: number; limit: number; items: HostRow[] };
  readonly failures: FailureView[];
}

/** `suspended (spec.suspended: false; operator override: suspended by alice at …)`, and which one is in force and why. */
export function describeSuspension(s: SuspensionView): string {
  const spec = s.spec === undefined ? 'spec.suspended: unknown' : `spec.suspended: ${s.spec}`;
  const override = s.override
    ? `${s.override.by.startsWith('ferry') ? 'Ferry' : 'operator'} override: ${s.override.suspended ? 'suspended' : 'resumed'} by ${s.override.by} at ${s.override.at}${s.override.reason ? `: ${s.override.reason}` : ''}`
    : 'no operator override';
  // Controllers older than the in-force rule send neither field.
  const inForce = s.inForce === undefined ? '' : `\n  in force: ${s.inForce === 'override' ? 'the override' : "git's spec.suspended"} (${s.why})`;
  return `${s.effective ? 'suspended' : 'active'} (${spec}; ${override})${inForce}`;
}

function failureLines(failures: readonly FailureView[], total: number): string {
  if (total === 0) return '';
  const rows = failures.map((f) => [
    f.host,
    f.deployment ?? '-',
    `${f.package ?? f.actionId}${f.version ? `@${f.version}` : ''}`,
    `${f.reason ?? 'failed'}${f.exitCode !== undefined ? ` (exit ${f.exitCode})` : ''}`,
  ]);
  const more = total > failures.length ? `… and ${total - failures.length} more\n` : '';
  return `\nFailing (${total}):\n${table([['HOST', 'DEPLOYMENT', 'PACKAGE', 'REASON'], ...rows])}${more}`;
}

function printOverview(s: StatusReply, relays: readonly RelayView[]): void {
  const out: string[] = [];
  const src = s.source;
  const followed = src.fetch?.source;
  const where = followed?.url
    ? `${followed.kind === 'dir' ? 'directory ' : ''}${followed.url}${followed.branch ? ` (branch ${followed.branch})` : ''}`
    : src.fetch?.leader === false
      ? 'followed by the leader replica'
      : 'not read yet';
  out.push(`Source: ${where}`);
  out.push(`  applied revision:   ${src.lastAppliedRevision ?? 'none yet'}${src.lastAppliedAt ? ` at ${src.lastAppliedAt}` : ''}`);
  out.push(`  last revision seen: ${followed?.revision ?? src.lastAttemptedRevision ?? 'none yet'}`);
  if (followed?.error) {
    out.push(`  Ready: False (FetchFailed): ${followed.error.message}`);
    out.push(
      `    ${followed.error.failures} failure(s) in a row, the last at ${followed.error.at}; next attempt ${followed.error.nextAttemptAt}; the applied revision still serves`,
    );
  }
  if (src.rejected) {
    out.push(`  REJECTED revision ${src.rejected.revision} at ${src.rejected.at} (the applied revision stays in force):`);
    if (src.rejected.message) out.push(`    ${src.rejected.message}`);
    for (const p of src.rejected.problems) out.push(`    ${p.file}:${p.line}:${p.col}: ${p.severity}: ${p.message}`);
  }
  out.push(`Hosts: ${s.hosts.total} (${s.hosts.enrolled} enrolled, ${s.hosts.reset} reset)`);
  out.push(...relayLines(relays));
  out.push('');
  if (s.deployments.length === 0) out.push('No deployments yet.');
  else {
    const by = (d: DeploymentSummary) => (d.suspended.override?.by.startsWith('ferry') ? 'by Ferry' : 'operator');
    const overridden = (d: DeploymentSummary) => d.suspended.override !== undefined && d.suspended.inForce !== 'git';
    const rows = s.deployments.map((d) => [
      d.name,
      d.suspended.effective ? (overridden(d) ? `suspended (${by(d)})` : 'suspended') : overridden(d) ? 'active (operator)' : 'active',
      formatCounts(d.counts),
    ]);
    out.push(table([['DEPLOYMENT', 'STATUS', 'ACTIONS'], ...rows]).trimEnd());
    for (const d of s.deployments) {
      if (d.suspended.effective && overridden(d) && d.suspended.override?.reason) out.push(`  ${d.name}: ${d.suspended.override.reason} (ferry resume ${d.name} continues it)`);
    }
  }
  const unavailable = s.content?.unavailable ?? [];
  if (unavailable.length > 0) {
    out.push('', `Content unavailable (${unavailable.length}; installs of it are blocked):`);
    for (const u of unavailable) out.push(`  ${u.packages.join(', ') || u.sha256}: ${u.reason}`);
  }
  process.stdout.write(`${out.join('\n')}\n${failureLines(s.failures, s.failuresTotal)}`);
}

function printDeployment(d: DeploymentReply): void {
  const out: string[] = [];
  out.push(`Deployment ${d.name}: ${describeSuspension(d.suspended)}`);
  if (d.inGit === false) out.push('  not in the applied revision (deleted from git, or only known from reports)');
  for (const p of d.packages ?? []) out.push(`  package ${p.name}@${p.version} ${p.state}`);
  out.push(`  actions: ${formatCounts(d.counts)}`);
  out.push('');
  const rows = d.hosts.items.map((h) => {
    const a = h.actions.find((x) => x.state === h.state) ?? h.actions[0];
    const said = a?.reason ?? (a?.bytesDone !== undefined ? `${a.bytesDone} bytes` : '');
    const detail = a?.source ? (said ? `${said} (${a.source})` : a.source) : said;
    return [h.host, h.state, a?.version ?? '', h.lastReportAt ?? 'never', detail];
  });
  out.push(table([['HOST', 'STATE', 'VERSION', 'LAST REPORT', 'REASON'], ...rows]).trimEnd());
  if (d.hosts.total > d.hosts.items.length) out.push(`… ${d.hosts.total - d.hosts.items.length} more hosts (use --json with the API's ?offset=)`);
  out.push(...failedInstalls(d.hosts.items));
  out.push(...powerLines(d.hosts.items));
  process.stdout.write(`${out.join('\n')}\n${failureLines(d.failures, d.counts.failed ?? 0)}`);
}

/** The hosts shown that were woken or shut down: what and when. */
function powerLines(hosts: readonly HostRow[]): string[] {
  const rows = hosts.flatMap((h) => (h.power ?? []).map((e) => [h.host, e.actionId === 'wake' ? 'woken' : 'shut down', e.at, e.reason ?? '']));
  return rows.length === 0 ? [] : ['', 'Power:', table([['HOST', 'EVENT', 'AT', 'DETAIL'], ...rows]).trimEnd()];
}

/** Each failed action of the hosts shown: the installer's exit code and the tail of its output. */
function failedInstalls(hosts: readonly HostRow[]): string[] {
  const out: string[] = [];
  for (const h of hosts) {
    for (const a of h.actions.filter((x) => x.state === 'failed')) {
      const exit = a.exitCode !== undefined ? `exit code ${a.exitCode}` : 'no exit code';
      out.push('', `Failed on ${h.host}: ${a.actionId} (${exit}${a.at ? `, at ${a.at}` : ''}): ${a.reason ?? 'failed'}`);
      out.push(...outputTail(a.output));
    }
  }
  return out;
}

export function configure(cmd: Command): void {
  addClientOptions(cmd.description('per-state counts per deployment, failing hosts with reasons, and the source status'), true)
    .argument('[DEPLOYMENT]', 'show one deployment host by host')
    .action(async (deployment: string | undefined, opts: ClientOptions) => {
      const client = adminClient(opts);
      if (deployment === undefined) {
        const s = await client.call<StatusReply>('GET', '/v1/status');
        if (opts.json) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        else printOverview(s, await fetchRelays(client));
        // Not ok: a failing action, a source that cannot be fetched, or a revision that was rejected.
        const sourceFailing = s.source.fetch?.source?.error !== undefined || s.source.rejected !== undefined;
        setExitCode(cmd, s.failuresTotal > 0 || sourceFailing ? ExitCode.notOk : ExitCode.ok);
        return;
      }
      const d = await client.call<DeploymentReply>('GET', `/v1/deployments/${encodeURIComponent(deployment)}?limit=1000`);
      if (opts.json) process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
      else printDeployment(d);
      setExitCode(cmd, (d.counts.failed ?? 0) > 0 ? ExitCode.notOk : ExitCode.ok);
    });
}
