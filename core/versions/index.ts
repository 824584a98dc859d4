/**
 * Versions by the rules of the system that reports them: dpkg's for `dpkg`, rpm's for `rpm`,
 * semver (loose forms coerced) for Ferry's own and any other source. One range text (`>=2.30`)
 * applies to all of them. Pure.
 */
import semver from 'semver';
import { compareDpkgBound } from './dpkg.js';
import { parseRange, type Range, satisfiesRange } from './range.js';
import { compareRpmBound } from './rpm.js';

export { compareDpkg, parseDpkg, verrevcmp } from './dpkg.js';
export { parseRange, satisfiesRange, type Comparator, type Range } from './range.js';
export { compareRpm, parseRpm, rpmvercmp } from './rpm.js';

/** A range parsed once, for every scheme; either form may be missing when the text is not one. */
export interface VersionRange {
  readonly text: string;
  readonly semver: semver.Range | undefined;
  readonly native: Range | undefined;
}

/** Parses `text` as a range; undefined when it is neither a semver range nor a range of written versions. */
export function compileRange(text: string): VersionRange | undefined {
  let sem: semver.Range | undefined;
  try {
    sem = new semver.Range(text, { loose: true });
  } catch {
    sem = undefined;
  }
  const native = parseRange(text);
  return sem === undefined && native === undefined ? undefined : { text, semver: sem, native };
}

/** True when `version`, as reported by `source` (`dpkg`, `rpm`, `ferry`, …), is in `range`. */
export function satisfiesFrom(source: string, version: string, range: VersionRange): boolean {
  if (source === 'dpkg' || source === 'rpm') {
    return range.native !== undefined && satisfiesRange(version, range.native, source === 'dpkg' ? compareDpkgBound : compareRpmBound);
  }
  const v = asSemver(version);
  return range.semver !== undefined && v !== null && range.semver.test(v);
}

const coerced = new Map<string, semver.SemVer | null>();

/** A reported version as semver, loose forms (`3.11.2-1`, `1.2`) coerced; null when it is not a version. */
export function asSemver(version: string): semver.SemVer | null {
  let v = coerced.get(version);
  if (v === undefined) {
    v = semver.coerce(version, { loose: true });
    if (coerced.size > 50_000) coerced.clear();
    coerced.set(version, v);
  }
  return v;
}
