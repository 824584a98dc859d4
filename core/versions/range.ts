/**
 * Version ranges (`>=2.30`, `^2.0`, `1.2.x`, `>=1.0 <2.0 || >=3`) applied to any version scheme:
 * the range is parsed once into comparators on versions *as written*, and each comparator asks
 * the scheme's own comparison (dpkg, rpm). The forms and their meaning follow node-semver's:
 * a partial version is an x-range (`2.30` is `>=2.30 <2.31~`), `~` and `^` bound the next minor
 * or major, `A - B` is inclusive; upper bounds made from a partial exclude its pre-releases
 * (`<2.31~`, as semver's `<2.31.0-0`).
 */

export type Operator = '>=' | '>' | '<=' | '<' | '=';

/** One test: the reported version, compared with `version`, must stand in relation `op`. */
export interface Comparator {
  readonly op: Operator;
  readonly version: string;
}

/** Alternatives (`||`), each a list of comparators that must all hold; an empty list holds for any version. */
export type Range = readonly (readonly Comparator[])[];

/** A scheme's comparison of a reported version with a bound as written; undefined when the reported one is not a version of it. */
export type BoundCompare = (reported: string, bound: string) => number | undefined;

const VERSION = /^[0-9][0-9A-Za-z.+~:^_-]*$/;
const WILD = /^[xX*]$/;

/** Parses a range; undefined when it is not one. */
export function parseRange(text: string): Range | undefined {
  const sets: Comparator[][] = [];
  for (const part of text.split('||')) {
    const set = parseSet(part.trim());
    if (set === undefined) return undefined;
    sets.push(set);
  }
  return sets;
}

/** True when `reported` satisfies `range` by `compare`; false when it is not a version of the scheme. */
export function satisfiesRange(reported: string, range: Range, compare: BoundCompare): boolean {
  return range.some((set) =>
    set.every((c) => {
      const r = compare(reported, c.version);
      if (r === undefined) return false;
      switch (c.op) {
        case '>=':
          return r >= 0;
        case '>':
          return r > 0;
        case '<=':
          return r <= 0;
        case '<':
          return r < 0;
        case '=':
          return r === 0;
      }
    }),
  );
}

function parseSet(text: string): Comparator[] | undefined {
  if (text === '') return [];
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen !== null) {
    const low = partial(hyphen[1]!);
    const high = partial(hyphen[2]!);
    if (low === undefined || high === undefined) return undefined;
    const out: Comparator[] = [];
    if (low.prefix !== '') out.push({ op: '>=', version: low.full ?? low.prefix });
    if (high.full !== undefined) out.push({ op: '<=', version: high.full });
    else if (high.prefix !== '') out.push({ op: '<', version: upper(high.prefix, high.parts - 1) });
    return out;
  }
  // `>= 2.30` is `>=2.30`: an operator is joined to the version after it.
  const tokens = text.replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/);
  const out: Comparator[] = [];
  for (const token of tokens) {
    const c = comparators(token);
    if (c === undefined) return undefined;
    out.push(...c);
  }
  return out;
}

/** A written version: its numeric prefix (`2.30` of `2.30.x`), how many parts that has, and the version itself when not wild. */
interface Partial {
  readonly prefix: string;
  readonly parts: number;
  /** The whole version, when it names one (three numeric parts, or anything not purely numeric). */
  readonly full?: string;
}

function partial(text: string): Partial | undefined {
  if (text === '' || WILD.test(text)) return { prefix: '', parts: 0 };
  const pieces = text.split('.');
  const wildAt = pieces.findIndex((p) => WILD.test(p));
  if (wildAt >= 0) {
    const head = pieces.slice(0, wildAt);
    if (!head.every((p) => /^[0-9]+$/.test(p)) || !pieces.slice(wildAt).every((p) => WILD.test(p))) return undefined;
    return { prefix: head.join('.'), parts: head.length };
  }
  if (!VERSION.test(text)) return undefined;
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return { prefix: text, parts: pieces.length };
  const numeric = /^[0-9]+(?:\.[0-9]+)*/.exec(text)?.[0] ?? '';
  return { prefix: numeric, parts: numeric === '' ? 0 : numeric.split('.').length, full: text };
}

/** The bound just above every version starting with `prefix`'s first `index + 1` parts: `2.30`, 1 → `2.31~`. */
function upper(prefix: string, index: number): string {
  const parts = prefix.split('.').slice(0, index + 1);
  parts[index] = String(Number(parts[index]) + 1);
  return `${parts.join('.')}~`;
}

function comparators(token: string): Comparator[] | undefined {
  const m = /^(>=|<=|>|<|=|\^|~>?|)v?(.*)$/.exec(token)!;
  const op = m[1]!;
  const p = partial(m[2]!);
  if (p === undefined) return undefined;
  const at = p.full ?? p.prefix;
  if (p.prefix === '' && p.full === undefined) return op === '<' || op === '>' ? [{ op: '<', version: '0~~' }] : [];
  switch (op) {
    case '':
    case '=':
      return p.full !== undefined
        ? [{ op: '=', version: p.full }]
        : [
            { op: '>=', version: p.prefix },
            { op: '<', version: upper(p.prefix, p.parts - 1) },
          ];
    case '>=':
      return [{ op: '>=', version: at }];
    case '<':
      return [{ op: '<', version: p.full ?? `${p.prefix}~` }];
    case '>':
      return p.full !== undefined ? [{ op: '>', version: p.full }] : [{ op: '>=', version: upper(p.prefix, p.parts - 1).slice(0, -1) }];
    case '<=':
      return p.full !== undefined ? [{ op: '<=', version: p.full }] : [{ op: '<', version: upper(p.prefix, p.parts - 1) }];
    case '~':
    case '~>': {
      const index = p.parts >= 2 ? 1 : 0;
      return p.parts === 0
        ? [{ op: '>=', version: at }]
        : [
            { op: '>=', version: at },
            { op: '<', version: upper(p.prefix, index) },
          ];
    }
    default: {
      // ^: below the next change of the first non-zero part (of the parts written).
      const parts = p.prefix === '' ? [] : p.prefix.split('.');
      if (parts.length === 0) return [{ op: '>=', version: at }];
      let index = parts.findIndex((x) => Number(x) !== 0);
      if (index < 0) index = parts.length - 1;
      return [
        { op: '>=', version: at },
        { op: '<', version: upper(p.prefix, index) },
      ];
    }
  }
}
