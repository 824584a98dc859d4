/** Rollout progress per deployment, derived from the current report states (never from a stream of events). */
import type { ActionState, HostPlan } from '../../core/plan/types.js';
import type { ActionStateRecord } from '../store/store.js';

export interface RolloutProgress {
  /** Hosts whose every action of the deployment reached a final good state. */
  readonly finished: Set<string>;
  /** Hosts where an action of the deployment failed. */
  readonly failed: Set<string>;
}

const done: ReadonlySet<ActionState> = new Set(['installed', 'uninstalled', 'not-applicable']);

/**
 * Per deployment: which hosts finished and which failed, judged against the host's current plan
 * (a host with no action of a deployment in its plan is neither).
 */
export function rolloutProgress(
  plans: ReadonlyMap<string, HostPlan>,
  states: readonly ActionStateRecord[],
): Map<string, RolloutProgress> {
  const stateOf = new Map<string, ActionState>();
  for (const s of states) stateOf.set(`${s.host}\0${s.actionId}`, s.state);
  const progress = new Map<string, RolloutProgress>();
  const entry = (deployment: string): RolloutProgress => {
    let p = progress.get(deployment);
    if (!p) progress.set(deployment, (p = { finished: new Set(), failed: new Set() }));
    return p;
  };
  for (const [host, plan] of plans) {
    const byDeployment = new Map<string, ActionState[]>();
    for (const action of plan.actions) {
      const list = byDeployment.get(action.deployment) ?? [];
      const state = stateOf.get(`${host}\0${action.id}`);
      list.push(state ?? 'pending');
      byDeployment.set(action.deployment, list);
    }
    for (const [deployment, list] of byDeployment) {
      if (list.includes('failed')) entry(deployment).failed.add(host);
      else if (list.every((s) => done.has(s))) entry(deployment).finished.add(host);
    }
  }
  return progress;
}

/** A stable text form, to tell whether progress changed between passes. */
export function rolloutKey(progress: ReadonlyMap<string, RolloutProgress>): string {
  return JSON.stringify(
    [...progress.keys()].sort().map((d) => {
      const p = progress.get(d)!;
      return [d, [...p.finished].sort(), [...p.failed].sort()];
    }),
  );
}
