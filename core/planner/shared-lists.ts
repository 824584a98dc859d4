/** Action lists made by a planning run: frozen, with frozen actions, never changed afterwards. */
import type { PlanAction } from '../plan/types.js';

const shared = new WeakSet<readonly PlanAction[]>();

/** Records that `actions` (and each action) is immutable, so derived text may be cached for it. */
export function markShared(actions: readonly PlanAction[]): void {
  shared.add(actions);
}

/** True for lists passed to markShared. */
export function isShared(actions: unknown): actions is readonly PlanAction[] {
  return typeof actions === 'object' && actions !== null && shared.has(actions as readonly PlanAction[]);
}
