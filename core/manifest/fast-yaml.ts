/**
 * The fast path for the common case: plain YAML (no tags, anchors, aliases, directives, tabs,
 * complex keys, empty or non-mapping documents) parsed with js-yaml, which is several times
 * faster than the `yaml` library's document composer. Anything outside that subset, or anything
 * js-yaml rejects or warns about, is declined (undefined) and read by `parseYamlFile`, which owns
 * every YAML message. Node trees (positions) are still built by `yaml`, only when a problem needs one.
 */
import jsYaml from 'js-yaml';
import type { SourcePosition } from './types.js';
import { FileTrees, maxDepth, YamlDocument, type ParsedFile } from './yaml-documents.js';

/**
 * Text that may hold what the fast path does not read like `yaml` does: tags (`!`), anchors (`&`),
 * directives, tabs, a BOM, a lone CR, `#` not after white space (not a comment for `yaml`),
 * explicit keys (`? `) and values after white space (`key : v`, `: v`).
 */
const outsideSubset = /[!&\t\uFEFF]|^%|\S#|\?(?:\s|$)|(?:^|[\s,[{]):(?:\s|$)|\r(?!\n)/m;

/** `yaml` refuses implicit keys longer than this; lines at least this long are left to it. */
const maxLineLength = 1024;

/**
 * One type per YAML 1.2 core-schema tag, with exactly the `yaml` library's patterns and values.
 * `first` holds every character such a scalar can start with ('' when it can be empty), tested
 * before the patterns: most plain scalars are names, left as strings after one look-up.
 */
function coreType(tag: string, first: readonly string[], forms: readonly (readonly [RegExp, (s: string) => unknown])[]): jsYaml.Type {
  const mayStart = new Set(first);
  return new jsYaml.Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    // js-yaml passes the tag only for an explicit tag; those are left to `yaml`.
    resolve: (s: unknown, explicitTag?: unknown) => explicitTag === undefined && typeof s === 'string' && mayStart.has(s.charAt(0)) && forms.some(([re]) => re.test(s)),
    construct: (s: string) => forms.find(([re]) => re.test(s))![1](s),
  });
}

const digits = [...'0123456789'];

const coreSchema = new jsYaml.Schema({
  implicit: [
    coreType('null', ['', '~', 'n', 'N'], [[/^(?:~|[Nn]ull|NULL)?$/, () => null]]),
    coreType('bool', [...'tTfF'], [[/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (s) => s[0] === 't' || s[0] === 'T']]),
    coreType(
      'int',
      [...digits, '+', '-'],
      [
        [/^0o[0-7]+$/, (s) => parseInt(s.substring(2), 8)],
        [/^[-+]?[0-9]+$/, (s) => parseInt(s, 10)],
        [/^0x[0-9a-fA-F]+$/, (s) => parseInt(s.substring(2), 16)],
      ],
    ),
    coreType(
      'float',
      [...digits, '+', '-', '.'],
      [
        [/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/, (s) => (s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity)],
        [/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, (s) => parseFloat(s)],
        [/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/, (s) => parseFloat(s)],
      ],
    ),
  ],
});

/** Thrown from the listener to stop parsing a file the fast path declines. */
const decline = new Error('declined');

/** The js-yaml state fields the listener reads (`depth` is not in its published types). */
interface ParseState {
  readonly position: number;
  readonly result: unknown;
  readonly depth: number;
}

/**
 * Parses a file of plain mapping documents; undefined when the file is outside the subset, has
 * more than `maxDocuments` documents, or js-yaml finds anything wrong: then `parseYamlFile` reads it.
 */
export function parseYamlFileFast(file: string, text: string, maxDocuments: number): ParsedFile | undefined {
  if (outsideSubset.test(text)) return undefined;
  const lineStarts = lineStartsOf(text);
  if (lineStarts === undefined) return undefined;

  const starts: number[] = [];
  const opened: number[] = [];
  let values: unknown[];
  try {
    values = jsYaml.loadAll(text, null, {
      schema: coreSchema,
      json: false,
      onWarning: () => {
        throw decline;
      },
      listener(event, s) {
        const state = s as unknown as ParseState;
        if (event === 'open') {
          if (state.depth > maxDepth) throw decline;
          if (state.depth === 1 && starts.push(state.position) > maxDocuments) throw decline;
          opened.push(state.position);
          return;
        }
        const from = opened.pop()!;
        const r = state.result;
        // A number JavaScript cannot hold exactly: `yaml` reports it with the text written.
        if (typeof r === 'number' && !(Math.abs(r) <= Number.MAX_SAFE_INTEGER)) throw decline;
        if (r !== null && typeof r !== 'object') return;
        // A flow collection over several lines (`yaml` checks how its end is indented), or an
        // empty value or a collection used as a key (which `yaml` and js-yaml name differently).
        const end = state.position;
        const last = text.charCodeAt(end - 1);
        if ((last === 0x5d || last === 0x7d) && text.lastIndexOf('\n', end - 1) > from) throw decline;
        let next = end;
        while (text.charCodeAt(next) === 0x20) next++;
        if (text.charCodeAt(next) === 0x3a) throw decline;
      },
    });
  } catch {
    return undefined;
  }
  if (values.length !== starts.length) return undefined;
  for (const value of values) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  }

  const trees = new FileTrees(file, text, maxDocuments);
  const documents = values.map((value, i) => new YamlDocument(trees, i, linePosition(file, lineStarts, starts[i]!), value));
  return { documents, problems: [], resources: documents.length, count: documents.length };
}

/** Offsets where lines start, as `yaml`'s LineCounter records them; undefined when a line is too long. */
function lineStartsOf(text: string): number[] | undefined {
  const starts = [0];
  let from = 0;
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
    if (nl - from >= maxLineLength) return undefined;
    from = nl + 1;
    starts.push(from);
  }
  return text.length - from >= maxLineLength ? undefined : starts;
}

/** Line and column of an offset, exactly as `yaml`'s LineCounter.linePos gives them. */
function linePosition(file: string, lineStarts: readonly number[], offset: number): SourcePosition {
  let low = 0;
  let high = lineStarts.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (lineStarts[mid]! < offset) low = mid + 1;
    else high = mid;
  }
  if (lineStarts[low] === offset) return { file, line: low + 1, col: 1 };
  return { file, line: low, col: offset - lineStarts[low - 1]! + 1 };
}
