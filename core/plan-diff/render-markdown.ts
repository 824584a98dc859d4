/**
 * The diff as a pull-request comment: a headline and summary tables first, hosts becoming
 * not-applicable called out, then per-host details folded in `<details>`. Hosts whose changes
 * are identical share one fold, and the comment stays under GitHub's size limit.
 */
import { formatBytes } from '../units/bytes.js';
import { actionLabel, countsLabel, describeChanges, diffHeadline } from './render-text.js';
import type { ChangedAction, FleetDiff, HostDiff } from './types.js';

/** GitHub refuses comments over 65,536 characters; details stop well before that. */
const defaultMaxLength = 60_000;
/** Host names listed in one fold's summary line before `and N more`. */
const namesInSummary = 8;

/** Text made safe for a table cell or inline HTML (and `$` kept out of GitHub math). */
function cell(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/\$/g, '&#36;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

const code = (text: string): string => `\`${text.replace(/`/g, "'")}\``;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function summaryTables(diff: FleetDiff): string[] {
  const out = [
    '| Deployment | Hosts | Added | Removed | Changed | Newly not applicable | To transfer |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...diff.deployments.map((d) => `| ${code(d.deployment)} | ${d.hosts.length} | ${d.added} | ${d.removed} | ${d.changed} | ${d.becameNotApplicable} | ${formatBytes(d.bytes)} |`),
    '',
    '| Relay / site | Hosts affected | To hosts | From controller |',
    '| --- | ---: | ---: | ---: |',
    ...diff.sites.map((s) => {
      const name = s.site.relay === undefined ? s.site.name : `relay ${code(s.site.relay)}`;
      const upstream = s.site.relay === undefined ? s.bytes : s.distinctBytes;
      return `| ${name} | ${s.hosts.length} of ${s.hostCount} | ${formatBytes(s.bytes)} | ${formatBytes(upstream)} |`;
    }),
  ];
  return out;
}

function notApplicableCallout(diff: FleetDiff): string[] {
  const rows = diff.hosts.flatMap((h) => h.becameNotApplicable.map((a) => ({ host: h.host, a })));
  if (rows.length === 0) return [];
  const hosts = new Set(rows.map((r) => r.host)).size;
  const shown = rows.slice(0, 20);
  return [
    '',
    '> [!WARNING]',
    `> **${plural(hosts, 'host')} ${hosts === 1 ? 'becomes' : 'become'} not-applicable** for an action:`,
    ...shown.map((r) => `> - ${code(r.host)}: ${actionLabel(r.a)} (${code(r.a.deployment)}): ${cell(r.a.reason ?? 'no reason given')}`),
    ...(rows.length > shown.length ? [`> - … and ${rows.length - shown.length} more`] : []),
  ];
}

function changedRow(c: ChangedAction): string {
  const label = c.before.version === c.after.version ? actionLabel(c.after) : `${actionLabel(c.before)} → ${c.after.version}`;
  const status = c.before.status === c.after.status ? c.after.status : `${c.before.status} → ${c.after.status}`;
  const rest = c.changes.filter((f) => f.field !== 'version' && f.field !== 'status');
  return `| ~ | ${cell(label)} | ${code(c.after.deployment)} | ${status} | ${cell(describeChanges(rest))} |`;
}

function hostTable(h: HostDiff): string[] {
  return [
    '| | Action | Deployment | Status | Details |',
    '| --- | --- | --- | --- | --- |',
    ...h.added.map((a) => {
      const details = [a.reason, a.blockedBy.length > 0 ? `after ${a.blockedBy.join(', ')}` : undefined].filter(Boolean).join('; ');
      return `| + | ${cell(actionLabel(a))} | ${code(a.deployment)} | ${a.status} | ${cell(details)} |`;
    }),
    ...h.removed.map((a) => `| − | ${cell(actionLabel(a))} | ${code(a.deployment)} | ${a.status} | no longer planned |`),
    ...h.changed.map(changedRow),
    ...(h.sources ? [`| | content sources | | | ${cell(`${h.sources.before} → ${h.sources.after}`)} |`] : []),
  ];
}

/** Hosts whose changes are identical (apart from name and site), in host order of their first member. */
function groupHosts(hosts: readonly HostDiff[]): HostDiff[][] {
  const groups = new Map<string, HostDiff[]>();
  for (const h of hosts) {
    const key = JSON.stringify({ ...h, host: undefined, site: undefined });
    const group = groups.get(key);
    if (group) group.push(h);
    else groups.set(key, [h]);
  }
  return [...groups.values()];
}

function fold(group: readonly HostDiff[]): string[] {
  const first = group[0] as HostDiff;
  const names = group
    .slice(0, namesInSummary)
    .map((h) => `<code>${cell(h.host)}</code>`)
    .join(', ');
  const more = group.length > namesInSummary ? ` and ${group.length - namesInSummary} more` : '';
  const hosts = group.length > 1 ? ` (${group.length} hosts, the same change)` : '';
  const counts = countsLabel(first.added.length, first.removed.length, first.changed.length, '−');
  const na = first.becameNotApplicable.length > 0 ? ' · ⚠ not-applicable' : '';
  const allNames = group.length > namesInSummary ? ['', `Hosts: ${group.map((h) => code(h.host)).join(', ')}`] : [];
  return [`<details><summary>${names}${more}${hosts}: ${counts} · ${formatBytes(first.bytes)}${na}</summary>`, ...allNames, '', ...hostTable(first), '', '</details>', ''];
}

/** The diff as markdown for a pull-request comment; `maxLength` bounds the output (default 60,000). */
export function renderDiffMarkdown(diff: FleetDiff, revisions: { base: string; head: string }, options: { maxLength?: number } = {}): string {
  const maxLength = options.maxLength ?? defaultMaxLength;
  const out = [`### Ferry plan: ${code(revisions.base)} → ${code(revisions.head)}`, '', `**${cell(diffHeadline(diff).replace(/^./, (c) => c.toUpperCase()))}.**`];
  if (diff.hosts.length === 0) return `${out.join('\n')}\n`;
  out.push('', ...summaryTables(diff), ...notApplicableCallout(diff), '', '#### Hosts', '');
  let length = out.join('\n').length;
  const groups = groupHosts(diff.hosts);
  let shownHosts = 0;
  for (const group of groups) {
    const block = fold(group);
    const blockLength = block.join('\n').length + 1;
    if (length + blockLength > maxLength - 200) break;
    out.push(...block);
    length += blockLength;
    shownHosts += group.length;
  }
  if (shownHosts < diff.hosts.length) {
    const left = diff.hosts.length - shownHosts;
    out.push(`… and ${plural(left, 'more host')} not shown here; run \`ferry plan --base\` locally to see every host.`);
  }
  while (out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}
