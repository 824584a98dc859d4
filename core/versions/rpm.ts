/**
 * RPM package versions, compared as rpm does (rpmvercmp, rpmio/rpmvercmp.c):
 * `[epoch:]version[-release]`; runs of digits or of letters compare segment by segment, other
 * characters only separate, `~` sorts before everything (even the end), `^` after the end only.
 */

/** An RPM EVR split into its parts; epoch 0 and release '' when absent. */
export interface RpmVersion {
  readonly epoch: number;
  readonly version: string;
  readonly release: string;
  readonly hasEpoch: boolean;
  readonly hasRelease: boolean;
}

/** Splits `[epoch:]version[-release]`; undefined when the epoch is not a number or the version is empty. */
export function parseRpm(text: string): RpmVersion | undefined {
  const evr = text.trim();
  const colon = evr.indexOf(':');
  const epochText = colon < 0 ? '' : evr.slice(0, colon);
  if (colon >= 0 && !/^[0-9]+$/.test(epochText)) return undefined;
  const rest = evr.slice(colon + 1);
  const dash = rest.lastIndexOf('-');
  const version = dash < 0 ? rest : rest.slice(0, dash);
  if (version === '') return undefined;
  return { epoch: colon < 0 ? 0 : Number(epochText), version, release: dash < 0 ? '' : rest.slice(dash + 1), hasEpoch: colon >= 0, hasRelease: dash >= 0 };
}

/** rpm's EVR comparison: epoch, version, then release when both have one; negative, 0 or positive. */
export function compareRpm(a: RpmVersion, b: RpmVersion): number {
  return Math.sign(a.epoch - b.epoch) || rpmvercmp(a.version, b.version) || (a.hasRelease && b.hasRelease ? rpmvercmp(a.release, b.release) : 0);
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined) => isDigit(c) || isAlpha(c);

/** rpm's rpmvercmp: one version (or release) string against another; -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const same = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && same(a[ei])) ei++;
    while (ej < b.length && same(b[ej])) ej++;
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i < a.length ? 1 : -1;
}

/** A reported EVR against a range bound, at the bound's precision: an epoch or a release the bound does not write is not compared. */
export function compareRpmBound(reported: string, bound: string): number | undefined {
  const r = parseRpm(reported);
  const b = parseRpm(bound);
  if (r === undefined || b === undefined) return undefined;
  return (b.hasEpoch ? Math.sign(r.epoch - b.epoch) : 0) || rpmvercmp(r.version, b.version) || (b.hasRelease && r.hasRelease ? rpmvercmp(r.release, b.release) : 0);
}
