/**
 * Convergence of the demo fleet, judged from what the admin API shows: each host's current plan and
 * the state its agent last reported for each action. Pure: the caller passes the time.
 */
import { statusStateOrder, type StatusState } from '../../core/plan/action-states.js';
import type { ActionState, PlanAction, TimeWindow } from '../../core/plan/types.js';

/** What `GET /v1/hosts/{host}` returns that this module reads. */
export interface HostView {
  readonly host: { readonly host: string };
  readonly plan: { readonly serial: number; readonly revision: string; readonly body: { readonly actions: readonly PlanAction[] } } | null;
  readonly states: readonly { readonly actionId: string; readonly state: ActionState; readonly reason?: string }[];
}

export interface FleetView {
  /** Every host the demo started an agent for. */
  readonly expectedHosts: readonly string[];
  /** Details of the hosts the controller knows. */
  readonly hosts: readonly HostView[];
  /** The revision the controller applied (`main@sha1:…`), if any. */
  readonly appliedRevision?: string;
}

export interface Convergence {
  /** Per deployment, actions by state; actions no agent reported on yet count as `pending`. */
  readonly deployments: ReadonlyMap<string, Readonly<Partial<Record<ActionState, number>>>>;
  /** Why the fleet is not settled yet (empty: settled). */
  readonly unsettled: readonly string[];
  /** `host: package@version (deployment): reason` of every failed action. */
  readonly failures: readonly string[];
}

const final: ReadonlySet<ActionState> = new Set(['installed', 'uninstalled', 'not-applicable', 'failed', 'suspended']);

/** A window list that neither is open nor opens within `horizonMs`: waiting for it is settled. */
function onlyFar(windows: readonly TimeWindow[] | undefined, now: number, horizonMs: number): boolean {
  if (windows === undefined) return false;
  return !windows.some((w) => Date.parse(w.start) <= now + horizonMs && Date.parse(w.end) > now);
}

/** Settled: nothing pending, downloading, installing, or waiting for something that happens soon. */
export function judge(view: FleetView, now: Date, horizonMs = 10 * 60_000): Convergence {
  const deployments = new Map<string, Partial<Record<ActionState, number>>>();
  const unsettled: string[] = [];
  const failures: string[] = [];
  const t = now.getTime();
  const byName = new Map(view.hosts.map((h) => [h.host.host, h]));
  if (view.appliedRevision === undefined) unsettled.push('the controller has not applied a revision yet');
  for (const name of view.expectedHosts) {
    const h = byName.get(name);
    if (!h) {
      unsettled.push(`${name}: not enrolled yet`);
      continue;
    }
    if (!h.plan) {
      unsettled.push(`${name}: no plan yet`);
      continue;
    }
    if (view.appliedRevision !== undefined && h.plan.revision !== view.appliedRevision) {
      unsettled.push(`${name}: plan of ${h.plan.revision}, not of the applied ${view.appliedRevision}`);
    }
    const stateOf = new Map(h.states.map((s) => [s.actionId, s]));
    for (const a of h.plan.body.actions) {
      const reported = stateOf.get(a.id);
      const state: ActionState = reported?.state ?? 'pending';
      const counts = deployments.get(a.deployment) ?? {};
      counts[state] = (counts[state] ?? 0) + 1;
      deployments.set(a.deployment, counts);
      if (state === 'failed') failures.push(`${name}: ${a.package}@${a.version} (${a.deployment}): ${reported?.reason ?? 'failed'}`);
      const settled =
        final.has(state) ||
        a.status === 'blocked' ||
        (a.suspended && state !== 'downloading' && state !== 'installing') ||
        onlyFar(a.distribute.windows, t, horizonMs) ||
        (a.distribute.notBefore !== undefined && Date.parse(a.distribute.notBefore) > t + horizonMs) ||
        (state !== 'downloading' && onlyFar(a.installWindows, t, horizonMs));
      if (!settled) unsettled.push(`${name}: ${a.op} ${a.package}@${a.version} (${a.deployment}) is ${state}${reported?.reason ? `: ${reported.reason}` : ''}`);
    }
  }
  return { deployments, unsettled, failures };
}

/** The one order of states read backwards: what has settled first, as a fleet converging reads best. */
const settledFirst: readonly StatusState[] = [...statusStateOrder].reverse();

/** `installed 5 · waiting 2 · failed 1`, settled first. */
export function formatStates(counts: Readonly<Partial<Record<StatusState, number>>>): string {
  const parts = settledFirst.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${s} ${counts[s]}`);
  return parts.length === 0 ? '-' : parts.join(' · ');
}
