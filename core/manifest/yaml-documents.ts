/**
 * Multi-document YAML with positions kept (the `yaml` library's CST → Document composer, fed as a
 * stream so a file with too many documents stops early). Each document keeps its node tree, so
 * any JSON path into it can be located as FILE:LINE:COL later.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { CST, Document, LineCounter as Lines, Node, Scalar } from 'yaml';
import { formatPath } from './json-path.js';
import type { SourcePosition } from './types.js';

let library: typeof Yaml | undefined;

/**
 * The `yaml` library, loaded on first use: a fleet of plain files read by the fast parser and
 * free of problems never needs it, and loading it is a fair part of a cold `ferry validate`.
 * (`yaml` is CommonJS for Node, so this is the same module instance an `import` gives.)
 */
function yaml(): typeof Yaml {
  return (library ??= createRequire(import.meta.url)('yaml') as typeof Yaml);
}

/** A path into a document's value: mapping keys and list indexes. */
export type JsonPath = readonly (string | number)[];

/** Whether a position names a mapping key (unknown keys) or the value under it (wrong values). */
export type Target = 'key' | 'value';

/**
 * The node trees of one file, parsed again on demand: a valid load never needs them after the
 * first pass, and keeping thousands of trees alive costs more (in garbage collection) than
 * re-parsing the few files that have problems. Also turns offsets into line and column.
 */
export class FileTrees {
  private docs: (Document.Parsed | undefined)[] | undefined;

  /** `lines`: the line counter of a parse that already read the whole text, if any. */
  constructor(
    readonly file: string,
    private readonly text: string,
    private readonly maxDocuments: number,
    private lines?: Lines,
  ) {}

  /** The `index`-th document of the file (empty ones counted); undefined for one refused before composing. */
  document(index: number): Document.Parsed | undefined {
    if (this.docs === undefined) {
      this.docs = [];
      const lines = this.lines === undefined ? (this.lines = new (yaml().LineCounter)()) : undefined;
      for (const doc of composeDocuments(this.text, lines)) if (this.docs.push('offset' in doc ? undefined : doc) > this.maxDocuments) break;
    }
    return this.docs[index];
  }

  /** The text between two offsets, as written. */
  slice(from: number, to: number): string {
    return this.text.slice(from, to);
  }

  /** Keeps trees already composed (of a file known to have problems), so locating them does not parse it again. */
  keep(docs: (Document.Parsed | undefined)[]): void {
    this.docs = docs;
  }

  /** FILE:LINE:COL of an offset into the text (the trees are parsed first when no line counter is known). */
  position(offset: number): SourcePosition {
    if (this.lines === undefined) this.document(0);
    const { line, col } = this.lines!.linePos(offset);
    return { file: this.file, line, col };
  }
}

// logLevel 'error': the library's own warnings (a collection used as a key) never reach the user's
// terminal; what they warn about is refused before composing (shapeProblem).
const composeOptions = { prettyErrors: false, uniqueKeys: true, strict: true, version: '1.2', logLevel: 'error' } as const;

/** Deepest nesting of lists and mappings a document may have; manifests need fewer than ten levels. */
export const maxDepth = 64;

/** A document refused before composing: where, and why. */
interface Refused {
  readonly offset: number;
  readonly message: string;
}

/**
 * Every document of `text`, composed, or Refused for one whose shape the composer (recursive)
 * and everything after it must not see: nesting deeper than maxDepth, a list or mapping as a key.
 */
function* composeDocuments(text: string, lines?: Lines): Generator<Document.Parsed | Refused> {
  const { Composer, Parser } = yaml();
  const composer = new Composer(composeOptions);
  for (const token of new Parser(lines?.addNewLine).parse(text)) {
    const refused = token.type === 'document' ? shapeProblem(token) : undefined;
    if (refused === undefined) {
      yield* composer.next(token);
      continue;
    }
    yield* composer.end();
    yield refused;
  }
  yield* composer.end();
}

/** The first part of a parsed (CST) document nested too deep or used as a key; iterative, so any depth is safe. */
function shapeProblem(doc: CST.Document): Refused | undefined {
  const stack: [CST.Token | null | undefined, number][] = [[doc.value, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [token, depth] = top;
    if (token == null || (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection')) continue;
    if (depth >= maxDepth) return { offset: token.offset, message: `lists and mappings are nested more than ${maxDepth} levels deep here; a manifest needs only a few levels` };
    for (const item of token.items) {
      const key = 'key' in item ? item.key : undefined;
      if (key != null && (key.type === 'block-map' || key.type === 'block-seq' || key.type === 'flow-collection')) {
        return { offset: key.offset, message: 'a list or mapping is used as a mapping key; keys are plain names (quote the key if it is meant as text)' };
      }
      stack.push([item.value, depth + 1]);
    }
  }
  return undefined;
}

/** One YAML document of a file, its plain value and a locator for any path inside it. */
export class YamlDocument {
  constructor(
    private readonly trees: FileTrees,
    private readonly index: number,
    private readonly startPosition: SourcePosition,
    /** The document's JSON value (aliases expanded). */
    readonly value: unknown,
    /** Paths of numbers already reported as inexact (beyond 2^53, 1e400): their value is not to be judged again. */
    readonly inexact: readonly JsonPath[] = [],
  ) {}

  get file(): string {
    return this.trees.file;
  }

  /** Position of the document's first content. */
  start(): SourcePosition {
    return this.startPosition;
  }

  /**
   * Position of `path`: its key (or list item) for 'key', its value for 'value'. A path that goes
   * beyond what the document holds is located at the deepest part that exists.
   */
  at(path: JsonPath, target: Target = 'value'): SourcePosition {
    const chosen = this.node(path, target);
    const offset = chosen?.range?.[0];
    return offset === undefined ? this.start() : this.trees.position(offset);
  }

  /** The text the author wrote for the scalar at `path` (e.g. `2.10`, which reads as the number 2.1); undefined for anything else. */
  written(path: JsonPath): string | undefined {
    const node = this.node(path, 'value');
    if (!yaml().isScalar(node) || node.range == null) return undefined;
    return this.trees.slice(node.range[0], node.range[1]);
  }

  private node(path: JsonPath, target: Target): Node | undefined {
    const doc = this.trees.document(this.index);
    if (doc === undefined) return undefined;
    const { isAlias, isMap, isPair, isScalar, isSeq } = yaml();
    let node: unknown = doc.contents;
    let keyNode: Node | undefined;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair === undefined) break;
        keyNode = pair.key as Node;
        node = pair.value ?? undefined;
        if (node === undefined) {
          node = keyNode;
          break;
        }
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
        node = node.items[segment];
        keyNode = node as Node;
      } else break;
    }
    return target === 'key' && keyNode !== undefined ? keyNode : ((node as Node | null | undefined) ?? keyNode);
  }
}

/** A problem found while reading a file, before any schema applies. */
export interface ReadProblem extends SourcePosition {
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

export interface ParsedFile {
  /** Non-empty documents that are mappings and parsed cleanly. */
  readonly documents: readonly YamlDocument[];
  readonly problems: readonly ReadProblem[];
  /** Non-empty documents, whether or not they parsed. */
  readonly resources: number;
  /** Documents read, empty ones included. */
  readonly count: number;
}

export interface ParseLimits {
  readonly maxDocuments: number;
  readonly maxAliasCount: number;
  /** What is reported at the first document past maxDocuments. */
  readonly tooManyMessage: string;
  /** Keep the node trees for locating problems (for a file known to have some); default: parse again when needed. */
  readonly keepTrees?: boolean;
}

/** Parses every document of one file; syntax errors, duplicate keys and alias bombs become problems. */
export function parseYamlFile(file: string, text: string, limits: ParseLimits): ParsedFile {
  const { LineCounter, isAlias, isMap, isSeq } = yaml();
  const lines = new LineCounter();
  const trees = new FileTrees(file, text, limits.maxDocuments, lines);
  const documents: YamlDocument[] = [];
  const problems: ReadProblem[] = [];
  const position = (offset: number) => ({ file, ...lines.linePos(offset) });
  let count = 0;
  let resources = 0;

  const counted = (offset: number): boolean => {
    count++;
    if (count <= limits.maxDocuments) return true;
    problems.push({ ...position(offset), severity: 'error', message: limits.tooManyMessage });
    return false;
  };
  const refuse = (doc: Refused): boolean => {
    if (!counted(doc.offset)) return false;
    resources++;
    problems.push({ ...position(doc.offset), severity: 'error', message: doc.message });
    return true;
  };
  const take = (doc: Document.Parsed): boolean => {
    if (!counted(doc.range[0])) return false;
    for (const w of doc.warnings) problems.push({ ...position(w.pos[0]), severity: 'warning', message: yamlMessage(w.code, w.message, text, w.pos) });
    if (isEmpty(doc)) {
      for (const e of doc.errors) problems.push({ ...position(e.pos[0]), severity: 'error', message: yamlMessage(e.code, e.message, text, e.pos) });
      return true;
    }
    resources++;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) problems.push({ ...position(e.pos[0]), severity: 'error', message: yamlMessage(e.code, e.message, text, e.pos) });
      return true;
    }
    const start = position(doc.contents!.range[0]);
    if (!isMap(doc.contents)) {
      const what = isSeq(doc.contents) ? 'a list' : isAlias(doc.contents) ? 'an alias' : 'a single value';
      problems.push({ ...start, severity: 'error', message: `this document is ${what}, not a mapping; each document is one resource with apiVersion, kind, metadata and spec` });
      return true;
    }
    const inexact = inexactNumbers(doc, text);
    for (const n of inexact) problems.push({ ...position(n.offset), severity: 'error', message: n.message });
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (err) {
      const message =
        err instanceof ReferenceError && /alias/i.test(err.message)
          ? `too many alias expansions (more than ${limits.maxAliasCount}); expand the aliases by hand or use fewer of them`
          : `cannot read this document: ${err instanceof Error ? err.message : String(err)}`;
      problems.push({ ...start, severity: 'error', message });
      return true;
    }
    documents.push(
      new YamlDocument(
        trees,
        count - 1,
        start,
        value,
        inexact.map((n) => n.path),
      ),
    );
    return true;
  };

  const kept: (Document.Parsed | undefined)[] = [];
  for (const doc of composeDocuments(text, lines)) {
    if (limits.keepTrees === true) kept.push('offset' in doc ? undefined : doc);
    if ('offset' in doc ? !refuse(doc) : !take(doc)) break;
  }
  if (limits.keepTrees === true) trees.keep(kept);
  return { documents, problems, resources, count };
}

/**
 * Numbers JavaScript cannot hold exactly: beyond ±(2^53 − 1), or infinite (`1e400`, `.inf`), or
 * NaN. Each is refused with the text the author wrote, rather than checked later as a rounded value.
 */
function inexactNumbers(doc: Document.Parsed, text: string): (Refused & { readonly path: JsonPath })[] {
  const { isPair, isScalar, isSeq, visit } = yaml();
  const found: (Refused & { readonly path: JsonPath })[] = [];
  visit(doc, {
    Scalar(_key, node, path) {
      const n = node.value;
      if (typeof n !== 'number' || Math.abs(n) <= Number.MAX_SAFE_INTEGER || node.range === undefined || node.range === null) return;
      const source = text.slice(node.range[0], node.range[1]);
      const written = source.length > 24 ? `${source.slice(0, 12)}… (${source.length} characters)` : source;
      const at = pathOf(path, node);
      const where = formatPath(at);
      const why = Number.isNaN(n) ? 'is not a number' : 'is too large a number: Ferry reads numbers up to 9007199254740991 (2^53 − 1) exactly';
      found.push({
        path: at,
        offset: node.range[0],
        message: `${where === '' ? '' : `${where}: `}${written} ${why}${Number.isNaN(n) ? '' : ' (use a unit, e.g. 4GiB, or quote it if it is text)'}`,
      });
    },
  });
  return found;

  /** The JSON path of a scalar from its ancestors (a number used as a key: the path of its mapping). */
  function pathOf(ancestors: readonly unknown[], node: Scalar): (string | number)[] {
    const out: (string | number)[] = [];
    const chain = [...ancestors, node];
    for (let i = 0; i < chain.length - 1; i++) {
      const here = chain[i];
      const next = chain[i + 1];
      if (isPair(here)) {
        if (next !== here.value) return out;
        out.push(isScalar(here.key) ? String(here.key.value) : '?');
      } else if (isSeq(here)) out.push(here.items.indexOf(next as never));
    }
    return out;
  }
}

function isEmpty(doc: Document.Parsed): boolean {
  const c = doc.contents;
  return c === null || (yaml().isScalar(c) && c.value === null && c.tag === undefined);
}

/** The yaml library's message, made plain and actionable for the common cases. */
function yamlMessage(code: string, message: string, text: string, pos: readonly [number, number]): string {
  switch (code) {
    case 'DUPLICATE_KEY': {
      const key = /^\s*("[^"\n]*"|'[^'\n]*'|[^:\n,}]*)/
        .exec(text.slice(pos[0], pos[0] + 200))?.[1]
        ?.trim()
        .replace(/^["']|["']$/g, '');
      return `duplicate key${key ? ` "${key}"` : ''} in this mapping; keep one of them`;
    }
    case 'TAB_AS_INDENT':
      return 'YAML syntax: tabs are not allowed for indentation; indent with spaces';
    case 'TAG_RESOLVE_FAILED':
      return `YAML: ${message.replace(/\.$/, '')}; the value is read as a plain string`;
    default:
      return `YAML syntax: ${message.replace(/\.$/, '')}`;
  }
}
