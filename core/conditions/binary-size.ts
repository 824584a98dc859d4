/** Sizes in binary units for reasons people read: `1.2 GiB`, `2 GiB`. */
const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * One decimal, a trailing `.0` dropped. `round: 'down'` truncates, so a measured 1.96 GiB never
 * reads as the 2 GiB it falls short of.
 */
export function formatBytes(bytes: number, round: 'nearest' | 'down' = 'nearest'): string {
  let unit = 0;
  let value = bytes;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const tenths = round === 'down' ? Math.floor(value * 10) : Math.round(value * 10);
  const text = (tenths / 10).toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[unit]}`;
}
