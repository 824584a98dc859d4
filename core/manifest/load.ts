/**
 * loadManifests: manifest files → every problem, and a typed, frozen Snapshot when none is an error.
 * Steps: decode (size, UTF-8) → parse YAML (positions kept) → schema per kind → normalise →
 * semantic checks (duplicates, references, cycles, values, conflicts). Pure: no I/O, no clock.
 */
import { checkConflicts } from './check-conflicts.js';
import type { CheckContext, Entry, KnownNames, Reporter } from './check-context.js';
import { where } from './check-context.js';
import { checkCycles } from './check-cycles.js';
import { checkReferences } from './check-references.js';
import { checkTrust } from './check-trust.js';
import { checkValues } from './check-values.js';
import { byteLength, decodeText } from './decode-text.js';
import { formatBytes } from '../units/bytes.js';
import { isKind, kinds, validatorFor } from './kind-schemas.js';
import { normalise } from './normalise.js';
import { schemaProblems } from './schema-problems.js';
import { buildSnapshot } from './snapshot.js';
import { didYouMean } from './suggest.js';
import type { Kind, LoadLimits, LoadResult, ManifestFile, Problem } from './types.js';
import { parseYamlFileFast } from './fast-yaml.js';
import { parseYamlFile, type ParsedFile, type ParseLimits, type YamlDocument } from './yaml-documents.js';

/** The limits used where the caller sets none. */
export const defaultLimits: LoadLimits = Object.freeze({
  maxFileBytes: 1024 * 1024,
  maxDocumentsPerFile: 5000,
  maxDocuments: 100_000,
  maxAliasCount: 100,
  maxTotalBytes: 64 * 1024 * 1024,
});

type Raw = Record<string, unknown>;

/** How loadManifests reads; the defaults suit every caller. */
export interface LoadOptions {
  /** Snapshot.revision; default `worktree`. */
  readonly revision?: string;
  readonly limits?: Partial<LoadLimits>;
  /**
   * Read plain files with the fast parser (default true). Files it declines, and files with any
   * problem, are always read by the exact parser, so results are the same either way; false
   * forces the exact parser everywhere (tests compare the two).
   */
  readonly fastParse?: boolean;
  /** The time (RFC 3339): a Package signed only by an expired publisher key is then an error. Absent: expiry is not checked. */
  readonly now?: string;
}

/** Loads and validates manifest files; never throws on bad input. Snapshot.revision is `revision` or `worktree`. */
export function loadManifests(files: readonly ManifestFile[], options: LoadOptions = {}): LoadResult {
  const limits: LoadLimits = { ...defaultLimits, ...options.limits };
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const revision = options.revision ?? 'worktree';
  const now = options.now;
  if (options.fastParse === false) return loadOnce(sorted, limits, revision, now, (file, text, parse) => ({ parsed: parseYamlFile(file, text, parse), fast: false })).result;
  // Every file with a problem is read again by the exact parser, until no problem is in a file the
  // fast parser read (one round more at most, unless the parsers disagreed on a value).
  const exact = new Set<string>();
  const cache = new Map<string, Read>();
  for (;;) {
    const { result, fastFiles } = loadOnce(sorted, limits, revision, now, (file, text, parse) => {
      const useFast = !exact.has(file);
      const key = `${file}\0${parse.maxDocuments}\0${useFast}`;
      let read = cache.get(key);
      if (read === undefined) {
        const parsed = useFast ? parseYamlFileFast(file, text, parse.maxDocuments) : undefined;
        // A file read again because it has a problem keeps its trees: the problem is located next.
        read = parsed !== undefined ? { parsed, fast: true } : { parsed: parseYamlFile(file, text, { ...parse, keepTrees: !useFast }), fast: false };
        cache.set(key, read);
      }
      return read;
    });
    const redo = result.problems.filter((p) => fastFiles.has(p.file));
    if (redo.length === 0) return result;
    for (const p of redo) exact.add(p.file);
  }
}

/** A file's documents, and whether the fast parser read them. */
type Read = { readonly parsed: ParsedFile; readonly fast: boolean };
type Reader = (file: string, text: string, limits: ParseLimits) => Read;

function loadOnce(sorted: readonly ManifestFile[], limits: LoadLimits, revision: string, now: string | undefined, read: Reader): { result: LoadResult; fastFiles: Set<string> } {
  const problems: Problem[] = [];
  const entries: Entry[] = [];
  const names = new Map<Kind, Map<string, YamlDocument>>(kinds.map((k) => [k, new Map()]));
  const versions = new Map<string, Set<string>>();
  const packageVersions = new Map<string, YamlDocument>();
  const fastFiles = new Set<string>();
  let documents = 0;
  let resources = 0;

  // A problem in a file the fast parser read is found again by the exact parser (loadManifests),
  // so it is not located here: locating builds the file's node trees, a second parse of it.
  const problemAt = (doc: YamlDocument, path: readonly (string | number)[], severity: Problem['severity'], message: string, target: 'key' | 'value' = 'value') =>
    problems.push({ ...(fastFiles.has(doc.file) ? doc.start() : doc.at(path, target)), severity, message });

  let bytes = 0;
  for (const file of sorted) {
    const length = byteLength(file);
    bytes += length;
    if (bytes > limits.maxTotalBytes) {
      const message = `the manifest files together are over the ${formatBytes(limits.maxTotalBytes)} limit (${formatBytes(bytes)} with this file); this file and those after it are not read: keep only manifests in the manifest folder`;
      problems.push({ file: file.path, line: 1, col: 1, severity: 'error', message });
      break;
    }
    const decoded = decodeText(file, limits.maxFileBytes, length);
    if (!('text' in decoded)) {
      problems.push({ file: file.path, line: decoded.line, col: decoded.col, severity: 'error', message: decoded.message });
      continue;
    }
    const left = limits.maxDocuments - documents;
    const perFile = limits.maxDocumentsPerFile <= left;
    const { parsed, fast } = read(file.path, decoded.text, {
      maxDocuments: perFile ? limits.maxDocumentsPerFile : left,
      maxAliasCount: limits.maxAliasCount,
      tooManyMessage: perFile
        ? `more than ${limits.maxDocumentsPerFile} documents in one file; split it into several files`
        : `more than ${limits.maxDocuments} documents in all manifest files together; nothing after this point is read`,
    });
    if (fast) fastFiles.add(file.path);
    documents += parsed.count;
    resources += parsed.resources;
    for (const p of parsed.problems) problems.push(p);

    for (const doc of parsed.documents) {
      const value = doc.value as Raw;
      const kind = value['kind'];
      if (kind === undefined) {
        problemAt(doc, [], 'error', `missing required key "kind" (one of ${kinds.join(', ')})`, 'key');
        continue;
      }
      if (!isKind(kind)) {
        const text = typeof kind === 'string' ? `"${kind}"` : JSON.stringify(kind);
        const hint = typeof kind === 'string' ? didYouMean(kind, kinds) : '';
        problemAt(doc, ['kind'], 'error', `kind: ${text} is not a Ferry kind${hint || ` (use one of ${kinds.join(', ')})`}`);
        continue;
      }
      const duplicate = register(doc, kind, value);
      const validate = validatorFor(kind);
      // A number reported as inexact (beyond 2^53, 1e400) is not judged again as the value it was rounded to.
      const judged = (path: readonly (string | number)[]) => !doc.inexact.some((x) => x.length === path.length && x.every((seg, i) => seg === path[i]));
      if (!validate(value)) {
        for (const p of schemaProblems(validate.errors ?? [], value, (path) => (fastFiles.has(doc.file) ? undefined : doc.written(path)))) {
          if (judged(p.path)) problemAt(doc, p.path, 'error', p.message, p.target);
        }
        continue;
      }
      if (duplicate || doc.inexact.length > 0) continue;
      const resource = normalise(kind, value, doc.start(), (path, message) => problemAt(doc, path, 'error', message));
      if (resource !== undefined) entries.push({ resource, doc });
    }
    if (documents > limits.maxDocuments) break;
  }

  /** Records the name a document defines; reports it and returns true when it is taken. */
  function register(doc: YamlDocument, kind: Kind, value: Raw): boolean {
    const metadata = value['metadata'] as Raw | undefined;
    const name = metadata !== null && typeof metadata === 'object' ? metadata['name'] : undefined;
    if (typeof name !== 'string') return false;
    const byName = names.get(kind)!;
    if (!byName.has(name)) byName.set(name, doc);
    if (kind !== 'Package') {
      const first = byName.get(name)!;
      if (first === doc) return false;
      problemAt(doc, ['metadata', 'name'], 'error', `${kind} "${name}" is already defined at ${where(first.at(['metadata', 'name']))}; names are unique per kind`);
      return true;
    }
    const spec = value['spec'] as Raw | undefined;
    const version = spec !== null && typeof spec === 'object' ? spec['version'] : undefined;
    if (typeof version !== 'string') return false;
    const set = versions.get(name) ?? new Set();
    set.add(version);
    versions.set(name, set);
    const key = `${name}\0${version}`;
    const first = packageVersions.get(key);
    if (first === undefined) {
      packageVersions.set(key, doc);
      return false;
    }
    problemAt(
      doc,
      ['metadata', 'name'],
      'error',
      `Package "${name}" version "${version}" is already defined at ${where(first.at(['metadata', 'name']))}; each name and version is defined once`,
    );
    return true;
  }

  const known: KnownNames = { names, versions };
  const report: Reporter = (entry, path, severity, message, target) => problemAt(entry.doc, path, severity, message, target);
  const ctx: CheckContext = { entries, known, report };
  checkReferences(ctx);
  checkCycles(ctx);
  checkValues(ctx);
  checkConflicts(ctx);
  checkTrust(ctx, now);

  problems.sort(compareProblems);
  const stats = { files: sorted.length, resources };
  const valid = !problems.some((p) => p.severity === 'error');
  const frozen = Object.freeze(problems.map((p) => Object.freeze(p)));
  const result = valid ? Object.freeze({ snapshot: buildSnapshot(entries, revision), problems: frozen, stats }) : Object.freeze({ problems: frozen, stats });
  return { result, fastFiles };
}

function compareProblems(a: Problem, b: Problem): number {
  const c = (x: string | number, y: string | number) => (x < y ? -1 : x > y ? 1 : 0);
  return c(a.file, b.file) || c(a.line, b.line) || c(a.col, b.col) || c(a.severity, b.severity) || c(a.message, b.message);
}
