/** `ferry hosts [HOST]`: enrolled hosts with their action counts, or one host in detail. */
import type { Command } from 'commander';
import { addClientOptions, adminClient, formatCounts, outputTail, table, type ClientOptions } from './client.js';
import { fetchRelays, relayOfHosts } from './relays-view.js';

interface HostItem {
  readonly host: string;
  readonly state: string;
  readonly lastSeenAt?: string;
  readonly enrolledAt: string;
  readonly labels: Record<string, string>;
  readonly actions: Record<string, number>;
}

interface HostsPage {
  readonly total: number;
  readonly hosts: HostItem[];
}

interface HostDetail {
  readonly host: HostItem & { facts: Record<string, unknown>; resetAt?: string };
  readonly inventory: { inventory: { facts: Record<string, unknown>; software: { name: string; version: string; source: string }[] }; reportedAt: string } | null;
  readonly plan: { serial: number; revision: string; generatedAt: string; body: { actions: { id: string; status: string; reason?: string }[] } } | null;
  /** The groups of the applied revision the host is in (controllers that know them). */
  readonly groups?: string[];
  /** The actions of the host's current plan; `at` is absent until the host reported on one. */
  readonly states: { actionId: string; state: string; at?: string; reason?: string; exitCode?: number; output?: string }[];
  readonly history: { id: string; actionId: string; state: string; at: string; reason?: string; exitCode?: number }[];
  readonly historyTotal?: number;
}

/** One host as text: a list of sections, each a list of lines (add a line where it belongs). */
function hostLines(d: HostDetail): string[] {
  const out: string[] = [];
  out.push(`Host ${d.host.host}: ${d.host.state}, enrolled ${d.host.enrolledAt}, last seen ${d.host.lastSeenAt ?? 'never'}`);
  const labels = Object.entries(d.host.labels).map(([k, v]) => `${k}=${v}`);
  if (labels.length > 0) out.push(`  labels: ${labels.join(', ')}`);
  if (d.groups !== undefined) out.push(`  groups: ${d.groups.length > 0 ? d.groups.join(', ') : 'none'}`);
  if (d.inventory) {
    const f = d.inventory.inventory.facts as { os?: { platform?: string; release?: string }; arch?: string; cpus?: number };
    const summary = `${f.os?.platform ?? '?'} ${f.os?.release ?? ''} ${f.arch ?? ''}, ${f.cpus ?? '?'} cpus, ${d.inventory.inventory.software.length} software items`;
    out.push(`  inventory (${d.inventory.reportedAt}): ${summary}`.replace(/ +/g, ' '));
  } else out.push('  no inventory yet');
  if (d.plan) out.push(`  plan: serial ${d.plan.serial}, revision ${d.plan.revision}, ${d.plan.body.actions.length} actions, generated ${d.plan.generatedAt}`);
  else out.push('  no plan yet');
  // Power events (controller/wake, agent shutdownAfter): the newest wake and shutdown in the history shown.
  for (const id of ['wake', 'shutdown']) {
    const last = d.history.findLast((h) => h.actionId === id);
    if (last?.reason) out.push(`  ${last.reason}${id === 'shutdown' ? ` (at ${last.at})` : ''}`);
  }
  out.push('');
  if (d.states.length > 0) {
    const rows = d.states.map((s) => [s.actionId, s.state, s.at ?? 'not reported', `${s.reason ?? ''}${s.exitCode !== undefined ? ` (exit ${s.exitCode})` : ''}`]);
    out.push(table([['ACTION', 'STATE', 'AT', 'REASON'], ...rows]).trimEnd());
  } else out.push('No action reported yet.');
  for (const s of d.states.filter((x) => x.state === 'failed')) {
    out.push('', `Failed: ${s.actionId} (${s.exitCode !== undefined ? `exit code ${s.exitCode}` : 'no exit code'}): ${s.reason ?? 'failed'}`);
    out.push(...outputTail(s.output));
  }
  if (d.history.length > 0) {
    const total = d.historyTotal ?? d.history.length;
    out.push('', `History (newest ${d.history.length} of ${total}):`);
    const rows = [...d.history].reverse().map((h) => [h.at, h.actionId, h.state, `${h.reason ?? ''}${h.exitCode !== undefined ? ` (exit ${h.exitCode})` : ''}`]);
    out.push(table([['AT', 'ACTION', 'STATE', 'REASON'], ...rows]).trimEnd());
  }
  return out;
}

const pageSize = 1000;

export function configure(cmd: Command): void {
  addClientOptions(cmd.description('list hosts with their action states, or show one host: inventory, plan, states, history'), true)
    .argument('[HOST]', 'show one host in detail')
    .action(async (host: string | undefined, opts: ClientOptions) => {
      const client = adminClient(opts);
      if (host === undefined) {
        const all: HostItem[] = [];
        let total = 0;
        do {
          const page = await client.call<HostsPage>('GET', `/v1/hosts?offset=${all.length}&limit=${pageSize}`);
          total = page.total;
          all.push(...page.hosts);
          if (page.hosts.length === 0) break;
        } while (all.length < total);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ total, hosts: all }, null, 2)}\n`);
          return;
        }
        if (all.length === 0) {
          process.stdout.write('No hosts enrolled yet; make a token with `ferry token create` and start agents with it.\n');
          return;
        }
        const via = relayOfHosts(await fetchRelays(client));
        const rows = all.map((h) => [h.host, h.state, h.lastSeenAt ?? 'never', via.has(h.host) ? `relay ${via.get(h.host)}` : 'direct', formatCounts(h.actions)]);
        process.stdout.write(table([['HOST', 'ENROLLMENT', 'LAST SEEN', 'VIA', 'ACTIONS'], ...rows]));
        return;
      }
      const d = await client.call<HostDetail>('GET', `/v1/hosts/${encodeURIComponent(host)}?history=20`);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
        return;
      }
      const via = relayOfHosts(await fetchRelays(client)).get(d.host.host);
      const lines = hostLines(d);
      if (via) lines[0] += `, through relay ${via}`;
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
