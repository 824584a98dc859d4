/** Canonical plan bytes and their content hash (DESIGN §5: RFC 8785 via `canonicalize`). */
import canonicalize from 'canonicalize';
import type { HostPlan } from '../plan/types.js';
import { planDigest, planPartsText, planText } from './plan-digest.js';

/** RFC 8785 (JCS) text of a JSON value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalized');
  return text;
}

/** canonicalJson(plan), assembled from cached pieces for plans the planner made. */
export function canonicalPlanJson(plan: HostPlan): string {
  return planText(plan);
}

/**
 * canonicalJson(document) for a document made around planner-made plan parts (a signed plan's
 * envelope): frozen parts are the planner's, immutable, and their text is made once.
 */
export function canonicalPlanDocumentJson(document: object): string {
  return planPartsText(document);
}

const remembered = new WeakMap<HostPlan, string>();

/** sha256 hex of canonicalJson(plan); plans are immutable, so each plan object is hashed once. */
export function hashPlan(plan: HostPlan): string {
  let hash = remembered.get(plan);
  if (hash === undefined) {
    hash = planDigest(plan);
    remembered.set(plan, hash);
  }
  return hash;
}
