/** Why a transfer under way should stop at the next segment boundary (DESIGN §2: suspension pauses at a boundary). */
import type { PlanAction } from '../../core/plan/types.js';
import { windowState } from './windows.js';

export type PauseWhy = 'stopping' | 'left-plan' | 'suspended' | 'window';

/** `latest`: the action as the newest accepted plan has it (absent: it left the plan). Undefined: go on. */
export function pauseWhy(latest: PlanAction | undefined, stopping: boolean, now: number, honourWindow: boolean): PauseWhy | undefined {
  if (stopping) return 'stopping';
  if (!latest) return 'left-plan';
  if (latest.suspended) return 'suspended';
  if (honourWindow && !windowState(latest.distribute.windows, now, latest.distribute.notBefore).open) return 'window';
  return undefined;
}
