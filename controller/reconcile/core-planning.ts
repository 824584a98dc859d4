/** The real Planning: core/manifest's loader and core/planner's planFleet/replan, run in slices (slices.ts). */
import { loadManifests } from '../../core/manifest/index.js';
import { planFleetSteps, replanSteps, type FleetPlan, type PlanningContext } from '../../core/planner/index.js';
import type { Planning, PlanningInputs } from './planning.js';
import { runInSlices } from './slices.js';

function context(inputs: PlanningInputs): PlanningContext {
  return {
    now: inputs.now.toISOString(),
    installed: inputs.installed,
    rollout: inputs.rollout,
    suspended: inputs.suspended,
    ...(inputs.resumed ? { resumed: inputs.resumed } : {}),
    ...(inputs.unavailable ? { unavailable: inputs.unavailable } : {}),
    ...(inputs.chunks ? { chunks: inputs.chunks } : {}),
    ...(inputs.controllerSource ? { controllerSource: inputs.controllerSource } : {}),
  };
}

const planning: Planning<FleetPlan> = {
  load: (files, revision, now) => loadManifests(files, { revision, ...(now ? { now: now.toISOString() } : {}) }),
  async plan(inputs: PlanningInputs, previous?: { readonly inputs: PlanningInputs; readonly result: FleetPlan }) {
    const ctx = context(inputs);
    if (!previous) {
      const result = await runInSlices(planFleetSteps(inputs.snapshot, inputs.inventories, ctx));
      return { result, replanned: result.plans.size };
    }
    const { result, replanned } = await runInSlices(
      replanSteps(
        { snapshot: previous.inputs.snapshot, inventories: previous.inputs.inventories, ctx: context(previous.inputs), result: previous.result },
        { snapshot: inputs.snapshot, inventories: inputs.inventories, ...(inputs.changedHosts ? { changed: inputs.changedHosts } : {}), ctx },
      ),
    );
    return { result, replanned: replanned.length, replannedHosts: replanned };
  },
};

export const corePlanning: Planning<FleetPlan> = Object.freeze(planning);
