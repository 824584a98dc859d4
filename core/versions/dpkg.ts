/**
 * Debian package versions, compared as dpkg does (Debian Policy §5.6.12, dpkg's verrevcmp):
 * `[epoch:]upstream[-revision]`; letters sort before other characters, `~` before everything,
 * even the end of the string (`1.0~rc1` < `1.0`), and digit runs compare as numbers.
 */

/** A dpkg version split into its parts; epoch 0 and revision '' when absent. */
export interface DpkgVersion {
  readonly epoch: number;
  readonly upstream: string;
  readonly revision: string;
  readonly hasEpoch: boolean;
  readonly hasRevision: boolean;
}

/** Splits `[epoch:]upstream[-revision]`; undefined when the epoch is not a number or the upstream part is empty. */
export function parseDpkg(text: string): DpkgVersion | undefined {
  const version = text.trim();
  const colon = version.indexOf(':');
  const epochText = colon < 0 ? '' : version.slice(0, colon);
  if (colon >= 0 && !/^[0-9]+$/.test(epochText)) return undefined;
  const rest = version.slice(colon + 1);
  const dash = rest.lastIndexOf('-');
  const upstream = dash < 0 ? rest : rest.slice(0, dash);
  if (upstream === '') return undefined;
  return {
    epoch: colon < 0 ? 0 : Number(epochText),
    upstream,
    revision: dash < 0 ? '' : rest.slice(dash + 1),
    hasEpoch: colon >= 0,
    hasRevision: dash >= 0,
  };
}

/** dpkg's full comparison: epoch, then upstream, then revision; negative, 0 or positive. */
export function compareDpkg(a: DpkgVersion, b: DpkgVersion): number {
  return Math.sign(a.epoch - b.epoch) || verrevcmp(a.upstream, b.upstream) || verrevcmp(a.revision, b.revision);
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** A character's weight in a non-digit run: end and digits 0, `~` below it, letters next, then the rest. */
function order(c: number): number {
  if (Number.isNaN(c) || isDigit(c)) return 0;
  if (isLetter(c)) return c;
  if (c === 0x7e) return -1;
  return c + 256;
}

/** dpkg's verrevcmp: one upstream or revision part against another. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a.charCodeAt(i));
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return Math.sign(ac - bc);
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 0x30) i++;
    while (b.charCodeAt(j) === 0x30) j++;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return Math.sign(firstDiff);
  }
  return 0;
}

/**
 * A reported version against a range bound, at the bound's precision: an epoch or a revision the
 * bound does not write is not compared (`1:2.39.5-0+deb12u1` is above `2.30` and equal to `2.39.5`).
 */
export function compareDpkgBound(reported: string, bound: string): number | undefined {
  const r = parseDpkg(reported);
  const b = parseDpkg(bound);
  if (r === undefined || b === undefined) return undefined;
  return (b.hasEpoch ? Math.sign(r.epoch - b.epoch) : 0) || verrevcmp(r.upstream, b.upstream) || (b.hasRevision ? verrevcmp(r.revision, b.revision) : 0);
}
