/** The reconcile loop: observe, load/validate, plan, diff, act, record status. */
export { Reconciler, type ReconcilerOptions } from './reconciler.js';
export { corePlanning } from './core-planning.js';
export type { Planning, PlanningInputs, FleetPlanResult, PlanningPass } from './planning.js';
export type { Condition, ConditionType, ConditionReason, ReconcileStatus, ReconcileRun, ReconcileOutcome, ReconcileMetrics, ReconcileCounters } from './status.js';
export { signPlan, needsResigning, planLifetimeMs, resignBeforeMs } from './plan-document.js';
export { rolloutProgress, type RolloutProgress } from './rollout.js';
export { systemClock, type Clock } from '../../lib/clock.js';
