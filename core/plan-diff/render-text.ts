/** Terminal forms of plans and diffs: aligned columns, one block per host, a summary line. */
import type { HostPlan, PlannedStatus } from '../plan/types.js';
import { alignColumns } from './columns.js';
import { formatBytes } from '../units/bytes.js';
import { byText } from './diff-fleet.js';
import type { ActionSummary, ChangedAction, FieldChange, FleetDiff } from './types.js';

/** Statuses in the order summaries list them. */
export const statusOrder: readonly PlannedStatus[] = ['planned', 'waiting', 'unknown', 'blocked', 'not-applicable'];

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `2 planned, 1 waiting`: non-zero counts in status order. */
export function countStatuses(statuses: readonly PlannedStatus[]): string {
  const counts = statusOrder.map((s) => [s, statuses.filter((x) => x === s).length] as const).filter(([, n]) => n > 0);
  return counts.map(([s, n]) => `${n} ${s}`).join(', ');
}

function relayOf(plan: HostPlan): string | undefined {
  return plan.sources.find((s) => s.kind === 'relay')?.name;
}

/** Each host with its actions as aligned columns (`op package@version deployment status reason`), then a summary. */
export function renderPlansText(plans: readonly HostPlan[]): string {
  const sorted = [...plans].sort((a, b) => byText(a.host, b.host));
  const rows = sorted.flatMap((p) => p.actions.map((a) => [a.op, `${a.package}@${a.version}`, a.deployment, a.status, a.reason ?? '']));
  const lines = alignColumns(rows);
  const out: string[] = [];
  let next = 0;
  for (const plan of sorted) {
    const relay = relayOf(plan);
    out.push(relay === undefined ? plan.host : `${plan.host}  (via relay ${relay})`);
    if (plan.actions.length === 0) out.push('  no actions');
    for (const action of plan.actions) {
      out.push(`  ${lines[next++]}`);
      if (action.blockedBy.length > 0) out.push(`      after: ${action.blockedBy.join(', ')}`);
    }
  }
  const actions = sorted.flatMap((p) => p.actions);
  const idle = sorted.filter((p) => p.actions.length === 0).length;
  const hosts = plural(sorted.length, 'host') + (idle > 0 ? ` (${idle} without actions)` : '');
  const statuses = actions.length > 0 ? `: ${countStatuses(actions.map((a) => a.status))}` : '';
  if (out.length > 0) out.push('');
  out.push(`${hosts}, ${plural(actions.length, 'action')}${statuses}`);
  return `${out.join('\n')}\n`;
}

/** `version 2.4.1 → 2.5.0; status waiting → planned`. */
export function describeChanges(changes: readonly FieldChange[]): string {
  return changes.map((c) => `${fieldLabel[c.field]} ${c.before} → ${c.after}`).join('; ');
}

const fieldLabel: Readonly<Record<FieldChange['field'], string>> = {
  version: 'version',
  artifact: 'artifact',
  status: 'status',
  reason: 'reason',
  blockedBy: 'after',
  conditions: 'conditions',
  notBefore: 'not before',
  distributeWindows: 'transfer windows',
  installWindows: 'install windows',
  transfer: 'transfer',
  commands: 'commands',
  shutdownAfter: 'shut down after',
  suspended: 'suspended',
  publishers: 'publisher keys',
};

/** `install text-editor@2.5.0`. */
export function actionLabel(a: ActionSummary): string {
  return `${a.op} ${a.package}@${a.version}`;
}

/** `+2 -0 ~1` (`minus` is `−` in markdown). */
export function countsLabel(added: number, removed: number, changed: number, minus = '-'): string {
  return `+${added} ${minus}${removed} ~${changed}`;
}

/** The headline of a diff: how many hosts and actions change and the bytes to transfer. */
export function diffHeadline(diff: FleetDiff): string {
  const t = diff.totals;
  if (t.hosts === 0) return `no host's plan changes (${plural(diff.hostCount, 'host')} planned)`;
  return (
    `${t.hosts} of ${plural(diff.hostCount, 'host')} ${t.hosts === 1 ? 'changes' : 'change'}: ` +
    `${t.added} added, ${t.removed} removed, ${t.changed} changed ${t.added + t.removed + t.changed === 1 ? 'action' : 'actions'}; ` +
    `${formatBytes(t.bytes)} to transfer`
  );
}

function changedRow(c: ChangedAction): string[] {
  const label = c.before.version === c.after.version ? actionLabel(c.after) : `${actionLabel(c.before)} → ${c.after.version}`;
  return ['~', label, c.after.deployment, describeChanges(c.changes)];
}

/** The diff for a terminal: headline, per-deployment and per-site tables, then each changed host. */
export function renderDiffText(diff: FleetDiff, revisions: { base: string; head: string }): string {
  const out = [`Plan changes from ${revisions.base} to ${revisions.head}: ${diffHeadline(diff)}`];
  if (diff.hosts.length > 0) {
    out.push('', 'Deployments:');
    const deploymentRows = [
      ['DEPLOYMENT', 'HOSTS', 'ADDED', 'REMOVED', 'CHANGED', 'NOT-APPLICABLE', 'TO TRANSFER'],
      ...diff.deployments.map((d) => [d.deployment, `${d.hosts.length}`, `${d.added}`, `${d.removed}`, `${d.changed}`, `${d.becameNotApplicable}`, formatBytes(d.bytes)]),
    ];
    out.push(...alignColumns(deploymentRows, [1, 2, 3, 4, 5, 6]).map((l) => `  ${l}`));
    out.push('', 'Relays/sites:');
    const siteRows = [
      ['SITE', 'HOSTS AFFECTED', 'TO HOSTS', 'FROM CONTROLLER'],
      ...diff.sites.map((s) => [
        s.site.name,
        `${s.hosts.length} of ${s.hostCount}`,
        formatBytes(s.bytes),
        s.site.relay === undefined ? formatBytes(s.bytes) : formatBytes(s.distinctBytes),
      ]),
    ];
    out.push(...alignColumns(siteRows, [1, 2, 3]).map((l) => `  ${l}`));
  }
  for (const h of diff.hosts) {
    out.push(
      '',
      `${h.host}  (${h.site.relay === undefined ? 'direct' : `via relay ${h.site.relay}`}): ${countsLabel(h.added.length, h.removed.length, h.changed.length)}, ${formatBytes(h.bytes)} to transfer`,
    );
    const rows = [
      ...h.added.map((a) => ['+', actionLabel(a), a.deployment, [a.status, a.reason].filter(Boolean).join(': ')]),
      ...h.removed.map((a) => ['-', actionLabel(a), a.deployment, 'no longer planned']),
      ...h.changed.map(changedRow),
    ];
    out.push(...alignColumns(rows).map((l) => `  ${l}`));
    if (h.sources) out.push(`  content sources: ${h.sources.before} → ${h.sources.after}`);
    for (const a of h.becameNotApplicable) out.push(`  ! becomes not-applicable: ${actionLabel(a)} (${a.deployment}): ${a.reason ?? 'no reason given'}`);
  }
  return `${out.join('\n')}\n`;
}
