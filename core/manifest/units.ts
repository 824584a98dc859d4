/**
 * The YAML value forms of sizes and quantities (DESIGN §1), turned into numbers.
 * Inputs have passed the schema's patterns; these functions only compute, and refuse what overflows.
 */
import type { Quantity } from './types.js';

const sizeUnits: Readonly<Record<string, number>> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

/** Bytes of a size (`4MiB`, `1048576`, 1048576); undefined when not a size or beyond 2^53. */
export function parseSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const m = /^([0-9]+)(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/.exec(value);
  if (m === null) return undefined;
  const bytes = Number(m[1]) * sizeUnits[m[2] ?? '']!;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A percentage (`"10%"`) or host count (3, `"3"`); undefined when neither or beyond 2^53. */
export function parseQuantity(value: number | string): Quantity | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? { count: value } : undefined;
  const percent = /^([0-9]+(\.[0-9]+)?)%$/.exec(value);
  if (percent !== null) return { percent: Number(percent[1]) };
  if (/^[0-9]+$/.test(value)) {
    const count = Number(value);
    return Number.isSafeInteger(count) ? { count } : undefined;
  }
  return undefined;
}

/** A quantity as written: `10%` or `3`. */
export function formatQuantity(q: Quantity): string {
  return 'percent' in q ? `${q.percent}%` : String(q.count);
}
