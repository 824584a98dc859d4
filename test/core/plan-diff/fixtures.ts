/** Hand-built plans for the plan-diff tests. */
import type { HostPlan, PlanAction } from '../../../core/plan/types.js';
import type { FleetPlans } from '../../../core/plan-diff/index.js';
import { planAction } from '../../dashboard/fleet.js';

export const sha = (c: string): string => c.repeat(64).slice(0, 64);

/** An install action of `deployment`'s `pkg@version`, planned, 1 MiB, with any field overridden. */
export function action(deployment: string, pkg: string, version: string, over: Partial<PlanAction> = {}): PlanAction {
  return planAction(deployment, pkg, version, { artifact: { sha256: sha(version.replace(/\D/g, '') || 'a'), size: 1_048_576 }, ...over });
}

/** A host's plan; with `relay`, its content comes from that relay first. */
export function plan(host: string, actions: readonly PlanAction[], relay?: string): HostPlan {
  const controller = { kind: 'controller' as const, name: 'controller' };
  return {
    host,
    sources: relay ? [{ kind: 'relay', name: relay, url: `http://${relay}:8470` }, controller] : [controller],
    actions,
  };
}

/** A fleet from host plans (kept in the given order, to show the diff does not depend on it). */
export function fleet(...plans: HostPlan[]): FleetPlans {
  return { plans: new Map(plans.map((p) => [p.host, p])) };
}
