/** Reading dotted fact paths (`os.platform`) and comparing them with selector values. */
import type { FactMatch } from '../manifest/types.js';

const splitPaths = new Map<string, readonly string[]>();

/** The value at a dotted path inside `facts`, or undefined when any step is missing. */
export function readFact(facts: unknown, path: string): unknown {
  let steps = splitPaths.get(path);
  if (steps === undefined) {
    steps = path.split('.');
    if (splitPaths.size > 10_000) splitPaths.clear();
    splitPaths.set(path, steps);
  }
  let value: unknown = facts;
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** The selector's accepted values as strings (a list means any of). */
export function acceptedValues(match: FactMatch): ReadonlySet<string> {
  return new Set((Array.isArray(match) ? match : [match]).map((v) => String(v)));
}

/** The strings a fact value is known by: a scalar's own, or each element of a list of scalars. */
export function factKeys(value: unknown): readonly string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.filter((v) => v !== null && typeof v !== 'object').map((v) => String(v));
  if (typeof value === 'object') return [];
  return [String(value)];
}
