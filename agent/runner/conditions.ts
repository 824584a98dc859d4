/**
 * The agent's re-check of an action's conditions right before it acts (DESIGN §2): hardware and
 * software with the same pure `evaluateCondition` the controller used, against a fresh
 * inventory, and `check` programs run here (exit 0 = holds).
 */
import { evaluateCondition } from '../../core/conditions/index.js';
import type { CommandSpec, ConditionResource } from '../../core/manifest/types.js';
import type { ConditionResult, Inventory } from '../../core/plan/types.js';

export type RecheckResult = { readonly holds: true } | { readonly holds: false; readonly reason: string };

/** Runs a check program; resolves to why it does not hold, or undefined when it exits 0. */
export type CheckRunner = (spec: CommandSpec) => Promise<string | undefined>;

/** Re-checks every condition; `runCheck` absent: check programs are left for later (e.g. before downloading). */
export async function recheckConditions(
  conditions: readonly ConditionResult[],
  inventory: Inventory,
  runCheck?: CheckRunner,
): Promise<RecheckResult> {
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
    if (check && runCheck) {
      const why = await runCheck(check);
      if (why !== undefined) return { holds: false, reason: `check ${check.command.join(' ')} ${why} (condition ${c.name})` };
    }
  }
  return { holds: true };
}
