/**
 * Canonical text and hash of planner-made plans from cached pieces. A plan's JCS text is
 * `{"actions":[A1,…,An],"host":H,"sources":S}` (keys sort that way), and hosts share their action
 * lists, so the text of each shared action is made once, and the sha256 state after
 * `{"actions":[…],"host":` is made once per shared list and copied per host: hashing a plan costs
 * its host name and sources, not its actions. Other plans take the same path without the sharing.
 */
import { createHash, type Hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { HostPlan, PlanAction } from '../plan/types.js';
import { isShared } from './shared-lists.js';

const texts = new WeakMap<object, string>();
const prefixes = new WeakMap<readonly PlanAction[], Hash>();

function jcs(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalized');
  return text;
}

/**
 * canonicalize(value), byte for byte, remembering the text of frozen objects and arrays. What the
 * planner freezes (actions, their windows, artifacts, condition results, source lists) points only
 * at snapshot data, which is immutable, so a frozen object's text never changes.
 */
function text(value: unknown, seen: Set<object>): string {
  if (value === null || typeof value !== 'object') return primitive(value);
  const frozen = Object.isFrozen(value);
  if (frozen) {
    const known = texts.get(value);
    if (known !== undefined) return known;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function' || seen.has(value)) return canonicalize(value) as string;
  seen.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = `[${value.map((v: unknown) => text(v === undefined || typeof v === 'symbol' ? null : v, seen)).join(',')}]`;
  } else {
    const parts: string[] = [];
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj).sort()) {
      const v = obj[key];
      if (v === undefined || typeof v === 'symbol') continue;
      parts.push(`${keyText(key)}:${text(v, seen)}`);
    }
    out = `{${parts.join(',')}}`;
  }
  seen.delete(value);
  if (frozen) texts.set(value, out);
  return out;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** canonicalize of a non-object: strings without surrogates and finite numbers directly. */
function primitive(value: unknown): string {
  if (typeof value === 'string' && !SURROGATE.test(value)) return JSON.stringify(value);
  if (typeof value === 'number' && Number.isFinite(value)) return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return canonicalize(value) as string;
}

const keyTexts = new Map<string, string>();

/** canonicalize(key), remembered for the few key names plans use. */
function keyText(key: string): string {
  let t = keyTexts.get(key);
  if (t === undefined) {
    t = canonicalize(key) as string;
    if (keyTexts.size < 1_000) keyTexts.set(key, t);
  }
  return t;
}

function actionsText(actions: readonly PlanAction[]): string {
  const seen = new Set<object>();
  return `[${actions.map((a) => text(a, seen)).join(',')}]`;
}

/** The plan when it is exactly {host, sources, actions} with a shared action list; else undefined. */
function sharedPlan(plan: unknown): HostPlan | undefined {
  if (typeof plan !== 'object' || plan === null || typeof (plan as { toJSON?: unknown }).toJSON === 'function') return undefined;
  const p = plan as HostPlan;
  const keys = Object.keys(p);
  if (keys.length !== 3 || !Object.hasOwn(p, 'host') || !Object.hasOwn(p, 'sources') || !Object.hasOwn(p, 'actions')) return undefined;
  if (typeof p.host !== 'string' || !Array.isArray(p.sources) || !isShared(p.actions)) return undefined;
  return p;
}

/** The part after the actions: `"host":H,"sources":S}` minus the `"host":` the prefix holds. */
const tail = (plan: HostPlan) => `${jcs(plan.host)},"sources":${text(plan.sources, new Set())}}`;

/**
 * canonicalize(value), byte for byte, reusing the text of what the planner froze (shared action
 * lists, actions, source lists): a plan document wrapped around a planner-made plan costs its own
 * fields, not its actions. Only for values whose frozen parts are planner-made or never change.
 */
export function planPartsText(value: unknown): string {
  return text(value, new Set());
}

/** RFC 8785 text of a plan; byte-identical to `canonicalize(plan)`, faster for planner-made plans. */
export function planText(plan: HostPlan): string {
  const p = sharedPlan(plan);
  if (p === undefined) return jcs(plan);
  return `{"actions":${actionsText(p.actions)},"host":${tail(p)}`;
}

/** sha256 hex of planText(plan). */
export function planDigest(plan: HostPlan): string {
  const p = sharedPlan(plan);
  if (p === undefined) return createHash('sha256').update(jcs(plan)).digest('hex');
  let prefix = prefixes.get(p.actions);
  if (prefix === undefined) {
    // Fed piece by piece: the list's text is never built as one string.
    prefix = createHash('sha256').update('{"actions":[');
    const seen = new Set<object>();
    for (let i = 0; i < p.actions.length; i++) {
      if (i > 0) prefix.update(',');
      prefix.update(text(p.actions[i], seen));
    }
    prefix.update('],"host":');
    prefixes.set(p.actions, prefix);
  }
  return prefix.copy().update(tail(p)).digest('hex');
}
