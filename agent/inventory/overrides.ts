/**
 * `--fact path=value` and `--label k=v`: a simulated host's facts (tests and the demo run many
 * hosts on one machine, e.g. one with a small disk). A value is read as JSON when it is a
 * number, boolean, array or object, as a size when it is one (`1GiB`), else as text.
 */
import { parseSize } from '../../core/manifest/units.js';
import type { Facts } from '../../core/plan/types.js';

export interface FactOverride {
  /** Dotted path into the facts (`disk.installRoot.free`). */
  readonly path: string;
  readonly value: unknown;
}

/** Parses `path=value`; throws an Error naming the flag's expected form. */
export function parseFactOverride(text: string): FactOverride {
  const eq = text.indexOf('=');
  const path = eq > 0 ? text.slice(0, eq).trim() : '';
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(path)) throw new Error(`--fact ${text}: expected path=value, e.g. disk.installRoot.free=1GiB`);
  const raw = text.slice(eq + 1);
  return { path, value: parseValue(raw) };
}

function parseValue(raw: string): unknown {
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== 'string') return v;
  } catch {
    // not JSON
  }
  if (/^\d+(\.\d+)?\s*[KMGTP]i?B$/i.test(raw.trim())) {
    const size = parseSize(raw.trim());
    if (size !== undefined) return size;
  }
  return raw;
}

/** Parses `k=v`. */
export function parseLabel(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error(`--label ${text}: expected key=value, e.g. dept=sales`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** A copy of `facts` with each override set at its path (objects made along the way). */
export function applyFactOverrides(facts: Facts, overrides: readonly FactOverride[]): Facts {
  if (overrides.length === 0) return facts;
  const copy = structuredClone(facts) as Record<string, unknown>;
  for (const o of overrides) {
    const parts = o.path.split('.');
    let at = copy;
    for (const p of parts.slice(0, -1)) {
      const next = at[p];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) at[p] = {};
      at = at[p] as Record<string, unknown>;
    }
    at[parts.at(-1)!] = o.value;
  }
  return copy as Facts;
}
