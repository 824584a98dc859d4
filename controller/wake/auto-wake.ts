/**
 * Automatic wake, the component: on the leader, every `intervalMs` it gathers the hosts with
 * unfinished actions of `wake: true` deployments, asks `hostsToWake` (auto-wake-decision.ts) which
 * to wake now, and wakes them through the WakeService (which records "woken at …, by …" in host
 * history; that record is also the "last woken" of the next round). Costs nothing while no
 * applied deployment has `wake: true`; otherwise reads only the unfinished actions of those
 * deployments and the records of their hosts.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import type { Store } from '../store/store.js';
import { type AutoWakePolicy, type CandidateAction, defaultAutoWakePolicy, hostsToWake, type WakeCandidate, type WakeDecision } from './auto-wake-decision.js';
import { type WakeResult, wakeActionId } from './wake-service.js';

const unfinishedStates = ['pending', 'waiting', 'downloading', 'downloaded', 'installing'] as const;

export interface AutoWakeOptions {
  readonly store: Pick<Store, 'actionStatuses' | 'getHost' | 'getInventory' | 'getPlan' | 'currentStates'>;
  /** Names of the applied revision's deployments with `distribute.wake: true`. */
  wakeDeployments(): readonly string[];
  wake(host: string, why: string): Promise<WakeResult>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often to look, ms; default 30 000. */
  readonly intervalMs?: number;
  readonly policy?: AutoWakePolicy;
}

export interface AutoWakeRound {
  readonly decisions: readonly WakeDecision[];
  readonly results: readonly WakeResult[];
}

export class AutoWake {
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly o: AutoWakeOptions) {}

  /** Starts looking every `intervalMs` (the first round at once); stop() ends it. */
  start(): void {
    if (this.loop) return;
    const abort = new AbortController();
    this.abort = abort;
    this.loop = (async () => {
      while (!abort.signal.aborted) {
        try {
          await this.round();
        } catch (err) {
          this.o.logger.warn({ err }, 'auto-wake: round failed; trying again next interval');
        }
        await this.o.clock.sleep(this.o.intervalMs ?? 30_000, abort.signal).catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort?.abort(new Error('auto-wake stopping'));
    await this.loop;
    this.loop = undefined;
  }

  /** One round: decide, then wake each chosen host (one after the other). */
  async round(): Promise<AutoWakeRound> {
    const candidates = await this.candidates();
    const decisions = hostsToWake(candidates, new Date(this.o.clock.now()), this.o.policy ?? defaultAutoWakePolicy);
    const results: WakeResult[] = [];
    for (const d of decisions) {
      const r = await this.o.wake(d.host, d.why);
      results.push(r);
      if (r.ok) this.o.logger.info({ host: d.host, deployments: d.deployments, mac: r.mac, to: r.to }, 'auto-wake: host woken');
      else this.o.logger.warn({ host: d.host, error: r.error }, `auto-wake: ${r.message}`);
    }
    return { decisions, results };
  }

  private async candidates(): Promise<WakeCandidate[]> {
    const { store } = this.o;
    const states = new Map<string, Map<string, CandidateAction['state']>>();
    // Only unfinished rows are read: a deployment installed everywhere costs five empty queries a round.
    for (const deployment of this.o.wakeDeployments()) {
      const rows = await Promise.all(unfinishedStates.map((state) => store.actionStatuses({ deployment, state })));
      for (const s of rows.flat()) {
        let byAction = states.get(s.host);
        if (!byAction) states.set(s.host, (byAction = new Map()));
        byAction.set(s.actionId, s.state);
      }
    }
    const out: WakeCandidate[] = [];
    for (const [host, byAction] of states) {
      const [record, inventory, plan, current] = await Promise.all([store.getHost(host), store.getInventory(host), store.getPlan(host), store.currentStates({ host })]);
      if (record?.state !== 'enrolled' || !plan) continue;
      const actions = plan.body.actions.flatMap((a): CandidateAction[] => {
        const state = byAction.get(a.id);
        return state === undefined ? [] : [{ deployment: a.deployment, distribute: a.distribute, suspended: a.suspended, state }];
      });
      const poll = inventory?.inventory.facts.agent?.pollIntervalMs;
      const woken = current.find((c) => c.actionId === wakeActionId)?.at;
      out.push({
        host,
        actions,
        ...(record.lastSeenAt !== undefined ? { lastSeenAt: record.lastSeenAt } : {}),
        ...(typeof poll === 'number' ? { pollIntervalMs: poll } : {}),
        ...(woken !== undefined ? { lastWokenAt: woken } : {}),
      });
    }
    return out;
  }
}
