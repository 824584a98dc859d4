/** The signed plan an agent receives (DESIGN §5): the planner's HostPlan in its envelope. */
import type { KeyObject } from 'node:crypto';
import type { Plan } from '../../core/plan/types.js';
import { signDocument } from '../../core/signing/index.js';
import type { PlanSigner } from '../keys/index.js';
import type { UnsignedPlanRecord } from '../store/store.js';

const dayMs = 24 * 60 * 60 * 1000;
/** How long a plan is valid after it is signed; an agent freezes on an expired plan. */
export const planLifetimeMs = 7 * dayMs;
/** Plans are signed again (same serial, later expiry) once they are this close to expiring. */
export const resignBeforeMs = 1 * dayMs;

/** Builds and signs the plan document of a stored plan; `signedAt` sets generatedAt and expiresAt. */
export function signPlan(record: UnsignedPlanRecord, signedAt: Date, key: string | KeyObject | PlanSigner): Plan & { signature: string } {
  const plan: Plan = {
    host: record.host,
    serial: record.serial,
    revision: record.revision,
    generatedAt: signedAt.toISOString(),
    expiresAt: new Date(signedAt.getTime() + planLifetimeMs).toISOString(),
    sources: record.body.sources,
    actions: record.body.actions,
  };
  return typeof key === 'object' && 'sign' in key ? key.sign(plan) : signDocument(plan, key);
}

/**
 * True when a signed plan document is missing, unreadable, expires within `resignBeforeMs` of
 * `now`, or (given a signer) was signed otherwise than it signs: before or during a key rotation.
 */
export function needsResigning(signed: string | undefined, now: Date, signer?: PlanSigner): boolean {
  if (signed === undefined) return true;
  let expiresAt: unknown;
  try {
    const doc = JSON.parse(signed) as Plan;
    if (signer && !signer.signedLikeThis(doc)) return true;
    expiresAt = doc.expiresAt;
  } catch {
    return true;
  }
  const expires = typeof expiresAt === 'string' ? Date.parse(expiresAt) : Number.NaN;
  return Number.isNaN(expires) || expires - now.getTime() < resignBeforeMs;
}
