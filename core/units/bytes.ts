/**
 * The one way Ferry writes a number of bytes for people: binary units, one decimal, a trailing
 * `.0` dropped — `512 B`, `1.5 KiB`, `4 MiB`, `1.2 GiB`. Used by validation messages, conditions,
 * plan diffs, `ferry package build` and the agent's progress bars.
 */

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * `bytes` in the largest binary unit below it. `round: 'down'` truncates, so a measured 1.96 GiB
 * never reads as the 2 GiB it falls short of.
 */
export function formatBytes(bytes: number, round: 'nearest' | 'down' = 'nearest'): string {
  const toTenths = round === 'down' ? Math.floor : Math.round;
  let unit = 0;
  let tenths = toTenths(bytes * 10);
  // Move up while the rounded figure reaches 1024 (so 1023.96 KiB reads 1 MiB, not 1024 KiB).
  while (Math.abs(tenths) >= 10240 && unit < units.length - 1) {
    unit++;
    tenths = toTenths((bytes / 1024 ** unit) * 10);
  }
  return `${(tenths / 10).toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
}
