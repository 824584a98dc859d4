/** Watches the demo fleet through the admin API and prints one line per change. */
import type { AdminClient } from '../client.js';
import { formatStates, judge, type Convergence, type HostView } from './convergence.js';
import { describeRelayContent, relayFigures } from './relay-figures.js';

interface StatusReply {
  readonly source: {
    readonly lastAppliedRevision?: string;
    readonly rejected?: { revision: string; problems: { file: string; line: number; col: number; severity: string; message: string }[] };
  };
  readonly hosts: { readonly total: number };
}

interface HostsReply {
  readonly hosts: readonly { readonly host: string }[];
}

export interface Observation {
  readonly convergence: Convergence;
  readonly appliedRevision?: string;
}

/** Polls the controller; `poll()` fetches once, prints what changed since the last call, and returns the judgement. */
export class FleetMonitor {
  private readonly lines = new Map<string, string>();
  private readonly started = Date.now();

  constructor(
    private readonly client: AdminClient,
    private readonly expectedHosts: readonly string[],
    private readonly write: (line: string) => void,
    /** A relay whose content figures (its `/metrics`) get a line of their own. */
    private readonly relay?: { readonly name: string; readonly url: string },
  ) {}

  async poll(): Promise<Observation> {
    const status = await this.client.call<StatusReply>('GET', '/v1/status');
    const list = await this.client.call<HostsReply>('GET', '/v1/hosts?limit=1000');
    const hosts = await Promise.all(list.hosts.map((h) => this.client.call<HostView>('GET', `/v1/hosts/${encodeURIComponent(h.host)}?history=0`)));
    const applied = status.source.lastAppliedRevision;
    const convergence = judge({ expectedHosts: this.expectedHosts, hosts, ...(applied !== undefined ? { appliedRevision: applied } : {}) }, new Date());

    this.note('revision', applied ? `source    applied ${applied}` : undefined);
    const rejected = status.source.rejected;
    this.note(
      'rejected',
      rejected ? `source    REJECTED ${rejected.revision}: ${rejected.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('; ')}` : undefined,
    );
    this.note('hosts', `hosts     ${status.hosts.total} of ${this.expectedHosts.length} enrolled`);
    const width = Math.max(0, ...[...convergence.deployments.keys()].map((d) => d.length));
    for (const name of [...convergence.deployments.keys()].sort()) {
      this.note(`deployment ${name}`, `${name.padEnd(width)}  ${formatStates(convergence.deployments.get(name)!)}`);
    }
    if (this.relay) {
      const figures = await relayFigures(this.relay.url);
      if (figures && figures.misses + figures.hits + figures.joined > 0) this.note('relay', `relay     ${this.relay.name}: ${describeRelayContent(figures)}`);
    }
    return { convergence, ...(applied !== undefined ? { appliedRevision: applied } : {}) };
  }

  private note(key: string, line: string | undefined): void {
    if (line === undefined || this.lines.get(key) === line) return;
    this.lines.set(key, line);
    const s = Math.round((Date.now() - this.started) / 1000);
    this.write(`${`+${s}s`.padStart(6)}  ${line}`);
  }
}

/** The final table: every deployment with its counts, then failures and what is still open. */
export function summarize(c: Convergence): string {
  const names = [...c.deployments.keys()].sort();
  const width = Math.max(10, ...names.map((n) => n.length));
  const out = [`${'DEPLOYMENT'.padEnd(width)}  ACTIONS`, ...names.map((n) => `${n.padEnd(width)}  ${formatStates(c.deployments.get(n)!)}`)];
  if (c.failures.length > 0) out.push('', `Failed (${c.failures.length}):`, ...c.failures.map((f) => `  ${f}`));
  if (c.unsettled.length > 0) out.push('', `Not settled (${c.unsettled.length}):`, ...c.unsettled.slice(0, 30).map((u) => `  ${u}`));
  return `${out.join('\n')}\n`;
}
