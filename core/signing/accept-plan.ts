import type { Plan } from '../plan/types.js';
import { verifyDocument, type VerifyResult } from './signature.js';

export interface PlanAcceptance {
  /** The controller's public key pinned at enrollment (PEM). */
  readonly publicKey: string;
  /** Serial of the last plan this host applied; absent when it has applied none. */
  readonly lastSerial?: number;
  /** The agent's clock, RFC 3339. */
  readonly now: string;
  /** The host this agent is; a plan for another host is refused. */
  readonly host: string;
}

/**
 * Decides whether an agent may use a plan: signed by the pinned key, for this host,
 * not older than the one applied (rollback), not expired (freeze).
 */
export function acceptPlan(plan: Plan, rules: PlanAcceptance): VerifyResult {
  const signed = verifyDocument(plan, rules.publicKey);
  if (!signed.ok) return signed;
  if (plan.host !== rules.host) return { ok: false, reason: `plan is for host ${plan.host}, not ${rules.host}` };
  if (rules.lastSerial !== undefined && plan.serial < rules.lastSerial) {
    return { ok: false, reason: `rollback: plan serial ${plan.serial} is lower than the applied serial ${rules.lastSerial}` };
  }
  const expires = Date.parse(plan.expiresAt);
  if (Number.isNaN(expires)) return { ok: false, reason: 'plan has no valid expiresAt' };
  if (expires <= Date.parse(rules.now)) {
    return { ok: false, reason: `freeze: plan expired at ${plan.expiresAt}` };
  }
  return { ok: true };
}
