/**
 * Canonical text and hash of planner-made plans from cached pieces. A plan's JCS text is
 * `{"actions":[A1,…,An],"host":H,"sources":S}` (keys sort that way), and hosts share their action
 * lists, so the text of each shared action is made once, and the sha256 state after
 * `{"actions":[…],"host":` is made once per shared list and copied per host: hashing a plan costs
 * its host name and sources, not its actions. Anything else falls back to `canonicalize`.
 */
import { createHash, type Hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ContentSource, HostPlan, PlanAction } from '../plan/types.js';
import { isShared } from './shared-lists.js';

const actionTexts = new WeakMap<PlanAction, string>();
const prefixes = new WeakMap<readonly PlanAction[], Hash>();
const sourceTexts = new WeakMap<readonly ContentSource[], string>();

function jcs(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalized');
  return text;
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

function actionsText(actions: readonly PlanAction[]): string {
  const parts: string[] = [];
  for (const a of actions) {
    let text = actionTexts.get(a);
    if (text === undefined) {
      text = jcs(a);
      actionTexts.set(a, text);
    }
    parts.push(text);
  }
  return `[${parts.join(',')}]`;
}

function sourcesText(sources: readonly ContentSource[]): string {
  let text = sourceTexts.get(sources);
  if (text === undefined) {
    text = jcs(sources);
    // Frozen lists of frozen sources (what SourceTable makes) cannot change: remember their text.
    if (Object.isFrozen(sources) && sources.every((s) => Object.isFrozen(s))) sourceTexts.set(sources, text);
  }
  return text;
}

/** The part after the actions: `"host":H,"sources":S}` minus the `"host":` the prefix holds. */
const tail = (plan: HostPlan) => `${jcs(plan.host)},"sources":${sourcesText(plan.sources)}}`;

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
    prefix = createHash('sha256').update(`{"actions":${actionsText(p.actions)},"host":`);
    prefixes.set(p.actions, prefix);
  }
  return prefix.copy().update(tail(p)).digest('hex');
}
