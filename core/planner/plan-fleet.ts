/** Planning the whole fleet: every host's plan, every deployment's outcome. */
import type { Snapshot } from '../manifest/types.js';
import type { HostPlan } from '../plan/types.js';
import { buildState, leaveTemplateOf, remember, templatesOf, type FleetState } from './fleet-state.js';
import { planHost, type HostInputs } from './plan-host.js';
import { PlanHashes } from './plan-hashes.js';
import type { DeploymentOutcome, FleetPlan, Inventories, PlanningContext } from './types.js';
import { SortedPlans, VersionedMap } from './versioned-map.js';

/** Desired state × inventories × context → one plan per host; pure and deterministic. */
export function planFleet(snapshot: Snapshot, inventories: Inventories, ctx: PlanningContext): FleetPlan {
  return runSteps(planFleetSteps(snapshot, inventories, ctx));
}

/** Hosts planned between two yields of the `…Steps` generators. */
export const hostsPerStep = 500;

/**
 * planFleet as steps: yields after building the fleet state and after every `hostsPerStep` hosts,
 * so a caller may let other work run between them; returns exactly what planFleet returns.
 */
export function* planFleetSteps(snapshot: Snapshot, inventories: Inventories, ctx: PlanningContext): Generator<void, FleetPlan> {
  const state = buildState(snapshot, inventories, ctx);
  yield;
  const plans = new Map<string, HostPlan>();
  let n = 0;
  for (const host of state.hosts) {
    plans.set(host, planOneHost(state, host));
    if (++n % hostsPerStep === 0) yield;
  }
  return finish(state, plans);
}

/** Runs steps to their end without pausing. */
export function runSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

type Lookups = Pick<HostInputs, 'templates' | 'leaveTemplate'>;
const lookups = new WeakMap<FleetState, Lookups>();

/** One host's plan from a fleet state. */
export function planOneHost(state: FleetState, host: string): HostPlan {
  let l = lookups.get(state);
  if (l === undefined) {
    l = { templates: (name) => templatesOf(state, name), leaveTemplate: (dep, pkg, version) => leaveTemplateOf(state, dep, pkg, version) };
    lookups.set(state, l);
  }
  return planHost(host, {
    snapshot: state.snapshot,
    inventory: state.inventories.get(host),
    deployments: state.deploymentsOfHost.get(host) ?? [],
    rollouts: state.rollouts,
    templates: l.templates,
    leaveTemplate: l.leaveTemplate,
    installed: state.installedByHost.get(host) ?? [],
    sources: state.sources.sourcesOf(host),
    sharing: state.sharing,
    unavailable: state.ctx.unavailable,
  });
}

/** Wraps plans into a FleetPlan and remembers the state for replan. */
export function finish(state: FleetState, planned: ReadonlyMap<string, HostPlan>): FleetPlan {
  // Plans are kept in a VersionedMap, so replan's next result shares them (see versioned-map.ts).
  const plans = planned instanceof SortedPlans ? planned : new SortedPlans(state.hosts, VersionedMap.of(planned));
  const deployments = new Map<string, DeploymentOutcome>();
  for (const name of [...state.rollouts.keys()].sort()) deployments.set(name, state.rollouts.get(name)!.outcome);
  const result: FleetPlan = { plans, deployments, hashes: new PlanHashes(plans), groups: state.groups };
  remember(result, state);
  return result;
}
