/**
 * Rollout progress per deployment, derived from the actions of the current plans and the states
 * reported for them (never from a stream of events, nor from reports on actions no longer planned).
 */
import type { ActionStatusRecord, StatusState } from '../store/store.js';

export interface RolloutProgress {
  /** Hosts whose every action of the deployment reached a final good state. */
  readonly finished: Set<string>;
  /** Hosts where an action of the deployment failed. */
  readonly failed: Set<string>;
}

const done: ReadonlySet<StatusState> = new Set(['installed', 'uninstalled', 'not-applicable']);

/**
 * Per deployment: which hosts finished and which failed, from `store.actionStatuses` records (each
 * action of a current plan once, in the state reported since it has been in the plan, else its
 * planned one). A host with no action of a deployment in its current plan is neither.
 */
export function rolloutProgress(statuses: readonly ActionStatusRecord[]): Map<string, RolloutProgress> {
  const byDeployment = new Map<string, Map<string, StatusState[]>>();
  for (const s of statuses) {
    let hosts = byDeployment.get(s.deployment);
    if (!hosts) byDeployment.set(s.deployment, (hosts = new Map()));
    const list = hosts.get(s.host);
    if (list) list.push(s.state);
    else hosts.set(s.host, [s.state]);
  }
  const progress = new Map<string, RolloutProgress>();
  for (const [deployment, hosts] of byDeployment) {
    const p: RolloutProgress = { finished: new Set(), failed: new Set() };
    for (const [host, list] of hosts) {
      if (list.includes('failed')) p.failed.add(host);
      else if (list.every((s) => done.has(s))) p.finished.add(host);
    }
    progress.set(deployment, p);
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
