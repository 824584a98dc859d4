/** The pure planning core (DESIGN §2): desired state × inventories × context → per-host plans. */
export type { InstalledRecord, InstalledRecords, Inventories, RolloutProgress, PlanningContext, DeploymentOutcome, FleetPlan } from './types.js';
export { planFleet, planFleetSteps, runSteps } from './plan-fleet.js';
export { replan, replanSteps } from './replan.js';
export { canonicalJson, canonicalPlanDocumentJson, canonicalPlanJson, hashPlan } from './canonical-json.js';
export { planHost, type HostInputs } from './plan-host.js';
export { rolloutOrder, waveEnds } from './waves.js';
export { resolveGroups, hostGroups } from '../groups/index.js';
export { expandSchedule } from '../schedules/index.js';
export { evaluateCondition } from '../conditions/index.js';
