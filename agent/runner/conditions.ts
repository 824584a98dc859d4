/**
 * The agent's re-check of an action's conditions right before it acts (DESIGN §2): hardware and
 * software with the same pure `evaluateCondition` the controller used, against a fresh
 * inventory; a condition's `check` program is a step the executor runs (exit 0 = holds).
 */
import { evaluateCondition } from '../../core/conditions/index.js';
import type { CommandSpec, ConditionResource } from '../../core/manifest/types.js';
import type { ConditionResult, Inventory } from '../../core/plan/types.js';

export type ConditionsVerdict =
  | { readonly holds: true }
  | { readonly holds: false; readonly reason: string }
  /** Everything before it holds; this condition's check program has to run next. */
  | { readonly holds: 'check'; readonly condition: string; readonly spec: CommandSpec };

/**
 * Conditions in order, each first against `inventory`, then (when `checksHeld` is given) its check
 * program unless it already held in this pass. Without `checksHeld`, check programs are left for later.
 */
export function conditionsVerdict(conditions: readonly ConditionResult[], inventory: Inventory, checksHeld?: readonly string[]): ConditionsVerdict {
  for (const c of conditions) {
    const { check, ...hardware } = c.spec;
    const resource: ConditionResource = {
      apiVersion: 'ferry/v1',
      kind: 'Condition',
      metadata: { name: c.name, labels: {}, annotations: {} },
      spec: hardware,
      source: { file: 'plan', line: 1, col: 1 },
    };
    const r = evaluateCondition(resource, inventory);
    if (r.verdict === 'fails') return { holds: false, reason: `${r.reason} (condition ${c.name})` };
    if (r.verdict === 'unknown') return { holds: false, reason: `cannot decide here: ${r.reason} (condition ${c.name})` };
    if (check && checksHeld && !checksHeld.includes(c.name)) return { holds: 'check', condition: c.name, spec: check };
  }
  return { holds: true };
}

/** The not-applicable reason of a check program that did not exit 0. */
export function checkFailedReason(condition: string, spec: CommandSpec, why: string): string {
  return `check ${spec.command.join(' ')} ${why} (condition ${condition})`;
}
