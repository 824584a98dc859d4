/**
 * Fetching and verifying the host's plan (DESIGN §5): a plan is used only when `acceptPlan`
 * takes it — signed by the pinned key, for this host, not a rollback, not expired.
 */
import type { Plan } from '../../core/plan/types.js';
import { acceptPlan } from '../../core/signing/index.js';
import type { ControllerClient } from '../client/controller-client.js';

export type PlanCheck =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'none'; readonly message: string }
  /** `adoptKey`: the controller is rotating keys and the pinned key vouched for this one. */
  | { readonly kind: 'accepted'; readonly plan: Plan; readonly etag?: string; readonly adoptKey?: string }
  | { readonly kind: 'rejected'; readonly reason: string; readonly serial?: number; readonly etag?: string };

export interface PlanCheckOptions {
  readonly host: string;
  readonly publicKey: string;
  /** Serial of the last applied plan; absent before the first. */
  readonly lastSerial?: number;
  readonly now: Date;
  /** ETag of the last plan seen (accepted or rejected). */
  readonly etag?: string;
}

/** GETs the plan and decides about it; throws ApiFailure when the controller cannot answer. */
export async function checkPlan(client: ControllerClient, o: PlanCheckOptions): Promise<PlanCheck> {
  const reply = await client.getPlan(o.host, o.etag);
  if (reply.kind !== 'plan') return reply;
  const etag = reply.etag !== undefined ? { etag: reply.etag } : {};
  let plan: Plan;
  try {
    plan = JSON.parse(reply.text) as Plan;
    if (typeof plan !== 'object' || plan === null || !Array.isArray(plan.actions) || !Array.isArray(plan.sources)) throw new Error('not a plan');
  } catch (e) {
    return { kind: 'rejected', reason: `the plan is not a plan document (${(e as Error).message})`, ...etag };
  }
  const verdict = acceptPlan(plan, {
    publicKey: o.publicKey,
    ...(o.lastSerial !== undefined ? { lastSerial: o.lastSerial } : {}),
    now: o.now.toISOString(),
    host: o.host,
  });
  const serial = Number.isSafeInteger(plan.serial) && plan.serial >= 0 ? { serial: plan.serial } : {};
  if (!verdict.ok) return { kind: 'rejected', reason: verdict.reason, ...serial, ...etag };
  return { kind: 'accepted', plan, ...etag, ...(verdict.adoptKey !== undefined ? { adoptKey: verdict.adoptKey } : {}) };
}
