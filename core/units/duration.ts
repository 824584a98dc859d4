/**
 * The one duration form of Ferry (DESIGN §1), read the same in manifests, CLI flags and API
 * bodies: a number with a unit — `ms`, `s`, `m`, `h`, `d` — or several of them added up (`1h30m`).
 */

const durationUnits: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration (`500ms`, `10m`, `1h30m`); undefined when not a duration or beyond 2^53. */
export function parseDuration(text: string): number | undefined {
  if (!/^([0-9]+(ms|s|m|h|d))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/([0-9]+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * durationUnits[m[2]!]!;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** `500ms`, `30s`, `10m`, `6h`, `1d`: the largest unit that divides the duration. */
export function formatDuration(ms: number): string {
  const steps: readonly [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  for (const [size, unit] of steps) if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
