/**
 * Automatic wake, the decision (pure): which hosts to wake now. A host is woken when it has an
 * unfinished action of a `wake: true` deployment whose distribution is open now (after
 * `notBefore`, inside one of its windows when it has any), it has gone quiet (not heard from for
 * more than twice the poll interval its agent reports, plus the staleness of last-seen times), and it was not woken within `repeatMs`.
 */
import type { PlanAction } from '../../core/plan/types.js';
import type { StatusState } from '../store/store.js';

/** One action of a host's current plan, with the state status shows for it. */
export interface CandidateAction {
  readonly deployment: string;
  readonly distribute: Pick<PlanAction['distribute'], 'notBefore' | 'windows' | 'wake'>;
  readonly suspended: boolean;
  readonly state: StatusState;
}

export interface WakeCandidate {
  readonly host: string;
  readonly actions: readonly CandidateAction[];
  /** When the host was last heard from; absent: never since it enrolled. */
  readonly lastSeenAt?: string;
  /** `agent.pollIntervalMs` of its inventory; absent: the policy's default. */
  readonly pollIntervalMs?: number;
  /** When it was last woken (automatically or by an operator). */
  readonly lastWokenAt?: string;
}

export interface AutoWakePolicy {
  /** A quiet host is woken again after this long while its distribution stays open; default 15 min. */
  readonly repeatMs: number;
  /** Poll interval assumed for an agent that does not report one (the agent's default `--interval`). */
  readonly defaultPollIntervalMs: number;
  /** How stale a host's last-seen time may be although it polls (the API writes it at most once a minute). */
  readonly seenSlackMs: number;
}

export const defaultAutoWakePolicy: AutoWakePolicy = Object.freeze({ repeatMs: 15 * 60_000, defaultPollIntervalMs: 60_000, seenSlackMs: 60_000 });

export interface WakeDecision {
  readonly host: string;
  /** The deployments whose open distribution wants the host up, sorted. */
  readonly deployments: readonly string[];
  /** Why, for host history: `distribution of d1, d2 open; quiet since T (poll interval 60s)`. */
  readonly why: string;
}

/** States in which an action still needs the host. */
const unfinished: ReadonlySet<StatusState> = new Set(['pending', 'waiting', 'downloading', 'downloaded', 'installing']);

/** True when the action's distribution may run at `now`. */
export function distributionOpen(d: CandidateAction['distribute'], now: number): boolean {
  if (d.notBefore !== undefined && Date.parse(d.notBefore) > now) return false;
  if (d.windows === undefined) return true;
  return d.windows.some((w) => Date.parse(w.start) <= now && now < Date.parse(w.end));
}

/** The hosts to wake at `now`, by host name. */
export function hostsToWake(candidates: readonly WakeCandidate[], now: Date, policy: AutoWakePolicy = defaultAutoWakePolicy): readonly WakeDecision[] {
  const t = now.getTime();
  const out: WakeDecision[] = [];
  for (const c of candidates) {
    const wanting = c.actions.filter((a) => a.distribute.wake && !a.suspended && unfinished.has(a.state) && distributionOpen(a.distribute, t));
    if (wanting.length === 0) continue;
    const poll = c.pollIntervalMs ?? policy.defaultPollIntervalMs;
    if (c.lastSeenAt !== undefined && t - Date.parse(c.lastSeenAt) <= 2 * poll + policy.seenSlackMs) continue;
    if (c.lastWokenAt !== undefined && t - Date.parse(c.lastWokenAt) < policy.repeatMs) continue;
    const deployments = [...new Set(wanting.map((a) => a.deployment))].sort();
    const quiet = c.lastSeenAt === undefined ? 'not heard from since it enrolled' : `quiet since ${c.lastSeenAt}`;
    out.push({ host: c.host, deployments, why: `distribution of ${deployments.join(', ')} open; ${quiet} (poll interval ${poll / 1000}s)` });
  }
  return out.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}
