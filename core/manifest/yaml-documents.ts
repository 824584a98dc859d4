/**
 * Multi-document YAML with positions kept (the `yaml` library's CST → Document composer, fed as a
 * stream so a file with too many documents stops early). Each document keeps its node tree, so
 * any JSON path into it can be located as FILE:LINE:COL later.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';
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
  private docs: Document.Parsed[] | undefined;

  /** `lines`: the line counter of a parse that already read the whole text, if any. */
  constructor(
    readonly file: string,
    private readonly text: string,
    private readonly maxDocuments: number,
    private lines?: LineCounter,
  ) {}

  /** The `index`-th document of the file (empty ones counted). */
  document(index: number): Document.Parsed | undefined {
    if (this.docs === undefined) {
      this.docs = [];
      const { Composer, LineCounter, Parser } = yaml();
      const lines = this.lines === undefined ? (this.lines = new LineCounter()) : undefined;
      const composer = new Composer(composeOptions);
      // biome-ignore lint/suspicious/noConfusingLabels: one labelled block, left early once the documents wanted are read
      outer: {
        for (const token of new Parser(lines?.addNewLine).parse(this.text)) {
          for (const doc of composer.next(token)) if (this.docs.push(doc) > this.maxDocuments) break outer;
        }
        for (const doc of composer.end()) this.docs.push(doc);
      }
    }
    return this.docs[index];
  }

  /** FILE:LINE:COL of an offset into the text (the trees are parsed first when no line counter is known). */
  position(offset: number): SourcePosition {
    if (this.lines === undefined) this.document(0);
    const { line, col } = this.lines!.linePos(offset);
    return { file: this.file, line, col };
  }
}

const composeOptions = { prettyErrors: false, uniqueKeys: true, strict: true, version: '1.2' } as const;

/** One YAML document of a file, its plain value and a locator for any path inside it. */
export class YamlDocument {
  constructor(
    private readonly trees: FileTrees,
    private readonly index: number,
    private readonly startPosition: SourcePosition,
    /** The document's JSON value (aliases expanded). */
    readonly value: unknown,
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
    const doc = this.trees.document(this.index);
    if (doc === undefined) return this.start();
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
    const chosen = target === 'key' && keyNode !== undefined ? keyNode : ((node as Node | null | undefined) ?? keyNode);
    const offset = chosen?.range?.[0];
    return offset === undefined ? this.start() : this.trees.position(offset);
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
}

/** Parses every document of one file; syntax errors, duplicate keys and alias bombs become problems. */
export function parseYamlFile(file: string, text: string, limits: ParseLimits): ParsedFile {
  const { Composer, LineCounter, Parser, isAlias, isMap, isSeq } = yaml();
  const lines = new LineCounter();
  const parser = new Parser(lines.addNewLine);
  const composer = new Composer(composeOptions);
  const trees = new FileTrees(file, text, limits.maxDocuments, lines);
  const documents: YamlDocument[] = [];
  const problems: ReadProblem[] = [];
  const position = (offset: number) => ({ file, ...lines.linePos(offset) });
  let count = 0;
  let resources = 0;

  const take = (doc: Document.Parsed): boolean => {
    count++;
    if (count > limits.maxDocuments) {
      problems.push({ ...position(doc.range[0]), severity: 'error', message: limits.tooManyMessage });
      return false;
    }
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
    documents.push(new YamlDocument(trees, count - 1, start, value));
    return true;
  };

  // biome-ignore lint/suspicious/noConfusingLabels: one labelled block, left early once the documents wanted are read
  outer: {
    for (const token of parser.parse(text)) {
      for (const doc of composer.next(token)) if (!take(doc)) break outer;
    }
    for (const doc of composer.end()) if (!take(doc)) break outer;
  }
  return { documents, problems, resources, count };
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
