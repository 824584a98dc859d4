import type { Plan } from '../plan/types.js';
import { sameKey, vouchHolds } from './key-transition.js';
import { verifyDocument } from './signature.js';

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

/** A plan's verdict; `adoptKey`: the controller is rotating its key and the pinned key vouched for this one. */
export type PlanVerdict = { readonly ok: true; readonly adoptKey?: string } | { readonly ok: false; readonly reason: string };

/**
 * Decides whether an agent may use a plan: signed by the pinned key (or, during a key rotation,
 * by the next key when that is the one pinned), for this host, not older than the one applied
 * (rollback), not expired (freeze).
 */
export function acceptPlan(plan: Plan, rules: PlanAcceptance): PlanVerdict {
  const t = plan.keyTransition;
  let signed = verifyDocument(plan, rules.publicKey);
  let adoptKey: string | undefined;
  if (signed.ok && t !== undefined) {
    // The pinned key signed a plan announcing its successor: adopt it only when the pinned key vouches for it and it signed too.
    if (!vouchHolds(t, rules.publicKey)) return { ok: false, reason: 'the plan announces a new controller key the pinned key did not vouch for' };
    const second = verifyDocument({ ...plan, signature: plan.nextSignature }, t.publicKey);
    if (!second.ok) return { ok: false, reason: `the plan's second signature does not match the announced new controller key (${second.reason})` };
    adoptKey = t.publicKey;
  } else if (!signed.ok && t !== undefined && sameKey(t.publicKey, rules.publicKey)) {
    signed = verifyDocument({ ...plan, signature: plan.nextSignature }, rules.publicKey);
  }
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
  return adoptKey !== undefined ? { ok: true, adoptKey } : { ok: true };
}
