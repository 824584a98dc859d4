/**
 * Rollout progress per deployment, derived from the actions of the current plans and the states
 * reported for them (never from a stream of events, nor from reports on actions no longer planned).
 *
 * The reconciler reads every rollout action's status once (a first pass, a pass of unknown cause),
 * then only those of the hosts a pass names — hosts that reported, hosts whose
 * plans the previous pass changed — and updates the progress it holds: a pass costs work in
 * proportion to the hosts that moved, not to the hosts of the rollout.
 */
import { VersionedSet } from '../../core/planner/versioned-map.js';
import type { RolloutProgress } from '../../core/planner/types.js';
import type { ActionStatusRecord, StatusState } from '../store/store.js';

export type { RolloutProgress };

/**
 * Triggers that cannot move an action's reported state: a new revision, a refresh, the day's
 * roll-over, an operator's override, content. Their passes change plans, and the hosts whose plans
 * they raise are read on the next pass.
 */
const keepsStates = (t: string) => t === 'source' || t === 'refresh' || t === 'daily' || t === 'resign-check' || t === 'overrides' || t.startsWith('content');

/**
 * Which hosts' reported states may have moved, from a pass's triggers: the hosts named by agent
 * triggers, or all of them when a trigger may hide any (a start, a retry, a lost signal, a request).
 */
export function statusChanges(triggers: readonly string[]): { readonly kind: 'all' } | { readonly kind: 'hosts'; readonly hosts: ReadonlySet<string> } {
  const hosts = new Set<string>();
  for (const t of triggers) {
    const m = /^(?:inventory|reports):(.+)$/.exec(t);
    if (m) hosts.add(m[1]!);
    else if (!keepsStates(t)) return { kind: 'all' };
  }
  return { kind: 'hosts', hosts };
}

const done: ReadonlySet<StatusState> = new Set(['installed', 'uninstalled', 'not-applicable']);

/** Deployment → host → the states of the host's actions of it. */
function byDeploymentAndHost(statuses: readonly ActionStatusRecord[]): Map<string, Map<string, StatusState[]>> {
  const out = new Map<string, Map<string, StatusState[]>>();
  for (const s of statuses) {
    let hosts = out.get(s.deployment);
    if (!hosts) out.set(s.deployment, (hosts = new Map()));
    const list = hosts.get(s.host);
    if (list) list.push(s.state);
    else hosts.set(s.host, [s.state]);
  }
  return out;
}

/** A host failed when an action failed, finished when every action reached a final good state. */
function summary(states: readonly StatusState[] | undefined): 'finished' | 'failed' | undefined {
  if (states === undefined) return undefined;
  if (states.includes('failed')) return 'failed';
  return states.every((s) => done.has(s)) ? 'finished' : undefined;
}

/**
 * Per deployment of `deployments`: which hosts finished and which failed, from `store.actionStatuses`
 * records (each action of a current plan once, in the state reported since it has been in the plan,
 * else its planned one). A host with no action of a deployment in its current plan is neither.
 */
export function rolloutProgress(deployments: Iterable<string>, statuses: readonly ActionStatusRecord[]): Map<string, RolloutProgress> {
  const grouped = byDeploymentAndHost(statuses);
  const progress = new Map<string, RolloutProgress>();
  for (const deployment of deployments) {
    const finished = new Set<string>();
    const failed = new Set<string>();
    for (const [host, states] of grouped.get(deployment) ?? []) {
      const s = summary(states);
      if (s === 'finished') finished.add(host);
      else if (s === 'failed') failed.add(host);
    }
    progress.set(deployment, { finished: VersionedSet.from(finished), failed: VersionedSet.from(failed) });
  }
  return progress;
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((h) => b.has(h));

/**
 * `next` where it says what `previous` said: each deployment whose progress is the same keeps the
 * previous object, and `previous` itself comes back when every deployment is the same.
 */
export function keepUnchanged(previous: ReadonlyMap<string, RolloutProgress> | undefined, next: ReadonlyMap<string, RolloutProgress>): ReadonlyMap<string, RolloutProgress> {
  if (previous === undefined) return next;
  const out = new Map<string, RolloutProgress>();
  let same = previous.size === next.size;
  for (const [deployment, p] of next) {
    const old = previous.get(deployment);
    const kept = old !== undefined && sameSet(old.finished, p.finished) && sameSet(old.failed, p.failed);
    out.set(deployment, kept ? old : p);
    same &&= kept;
  }
  return same ? previous : out;
}

/**
 * `previous` with the hosts of `hosts` summarized again from `statuses` (all of theirs, and only
 * theirs) in each of its deployments. A deployment whose hosts did not move keeps its progress
 * object, and `previous` itself is returned when none moved, so the planner sees by identity what
 * did not change. O(hosts) per deployment; the sets are versioned, not copied.
 */
export function updateRolloutProgress(
  previous: ReadonlyMap<string, RolloutProgress>,
  hosts: ReadonlySet<string>,
  statuses: readonly ActionStatusRecord[],
): ReadonlyMap<string, RolloutProgress> {
  if (hosts.size === 0) return previous;
  const grouped = byDeploymentAndHost(statuses);
  let next: Map<string, RolloutProgress> | undefined;
  for (const [deployment, p] of previous) {
    const states = grouped.get(deployment);
    const finishedChanges = new Map<string, boolean>();
    const failedChanges = new Map<string, boolean>();
    for (const host of hosts) {
      const s = summary(states?.get(host));
      finishedChanges.set(host, s === 'finished');
      failedChanges.set(host, s === 'failed');
    }
    const finished = VersionedSet.from(p.finished).with(finishedChanges);
    const failed = VersionedSet.from(p.failed).with(failedChanges);
    if (finished === p.finished && failed === p.failed) continue;
    next ??= new Map(previous);
    next.set(deployment, { finished, failed });
  }
  return next ?? previous;
}
