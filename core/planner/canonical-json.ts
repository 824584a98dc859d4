/** Canonical plan bytes and their content hash (DESIGN §5: RFC 8785 via `canonicalize`). */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { HostPlan } from '../plan/types.js';

/** RFC 8785 (JCS) text of a JSON value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalized');
  return text;
}

const remembered = new WeakMap<HostPlan, string>();

/** sha256 hex of canonicalJson(plan); plans are immutable, so each plan object is hashed once. */
export function hashPlan(plan: HostPlan): string {
  let hash = remembered.get(plan);
  if (hash === undefined) {
    hash = createHash('sha256').update(canonicalJson(plan)).digest('hex');
    remembered.set(plan, hash);
  }
  return hash;
}
