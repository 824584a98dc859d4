/**
 * The fast parser changes nothing. Whole loads: for every fixture and example manifest (also with
 * CRLF line ends) and generated fleets, the snapshot (canonical JSON), the problems and the stats
 * are the same with the fast parser as with the exact one alone. Parser by parser: for files
 * mutated from them (scalar forms YAML reads differently, comments, keys, documents, indentation,
 * tags, anchors), whenever the fast parser accepts a file, the exact one reads the same values
 * and document positions from it and reports no problem.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { parseYamlFileFast } from '../../../core/manifest/fast-yaml.js';
import { loadManifests, type LoadResult, type ManifestFile } from '../../../core/manifest/index.js';
import { parseYamlFile } from '../../../core/manifest/yaml-documents.js';
import { repoRoot } from '../../support/ferry.js';

function yamlFiles(dir: string): ManifestFile[] {
  const out: ManifestFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(name)) out.push({ path: relative(dir, full), content: readFileSync(full, 'utf8') });
    }
  };
  walk(dir);
  return out;
}

const fleets: Record<string, ManifestFile[]> = {
  'test fixture fleet': yamlFiles(join(repoRoot, 'test/fixtures/manifests/fleet')),
  'example fleet': yamlFiles(join(repoRoot, 'examples/manifests')),
};

/** Everything a load returns, as canonical JSON (maps as sorted entry lists). */
function canonical(result: LoadResult): string {
  return JSON.stringify(result, (_key, value: unknown) => {
    if (value instanceof Map) return [...value].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
    if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return value;
  });
}

function expectSameLoad(files: readonly ManifestFile[], label: string): void {
  const exact = canonical(loadManifests(files, { fastParse: false }));
  const fast = canonical(loadManifests(files));
  expect(fast, label).to.equal(exact);
}

/** Values that YAML 1.2 core, YAML 1.1 and js-yaml's defaults read differently, and other scalar forms. */
const scalars = [
  '0b101',
  '1_000',
  '0o17',
  '0x1F',
  '017',
  '+12',
  '-0',
  '.5',
  '1.',
  '1e3',
  '1.5E-2',
  '.inf',
  '-.Inf',
  '.nan',
  '~',
  'null',
  'Null',
  'NULL',
  '',
  'TRUE',
  'True',
  'yes',
  'off',
  '2026-12-24T20:00:00',
  '2026-12-24',
  '12:30:00',
  '"\\x41\\u00e9\\t\\N"',
  "'it''s'",
  '"a\\\n  b"',
  '|\n  line one\n  line two',
  '>-\n  folded\n  text',
  '|+\n  kept\n',
  'plain\n  continued',
  '[a, b]',
  '{a: 1}',
  '"quoted" # comment',
  'value#not-comment',
  '"a"#c',
  'a: b',
  '- x',
  '!!str 123',
  '!!int "12"',
  '! 12',
  '&anchor value',
  '*alias',
  '<<',
  '"null"',
  '@reserved',
  '`tick',
  '"unterminated',
  '[a,\n  b]',
  '[a,\n]',
  "'multi\nline'",
];

/** Whole-line mutations: comments, key spacing, explicit keys, null and collection keys, indentation, documents. */
const lineMutations: readonly ((line: string) => string)[] = [
  (l) => `${l} # trailing comment`,
  (l) => l.replace(/: /, ' : '),
  (l) => l.replace(/^(\s*)([\w.-]+): /, '$1? $2\n$1: '),
  (l) => l.replace(/^(\s*)[\w.-]+: /, '$1~: '),
  (l) => l.replace(/^(\s*)[\w.-]+: /, '$1: '),
  (l) => l.replace(/^(\s*)([\w.-]+): /, '$1[$2]: '),
  (l) => l.replace(/^(\s*)([\w.-]+): /, '$1{$2: 1}: '),
  (l) => ` ${l}`,
  (l) => l.replace(/^ /, ''),
  (l) => l.replace(/^ {2}/, '\t'),
  (l) => `---\n${l}`,
  (l) => `${l}\n...`,
  (l) => `${l}\n${l}`,
  (l) => `%YAML 1.1\n---\n${l}`,
  (l) => `# only a comment\n---\n${l}`,
  (l) => `${l}\n---\n# comment only\n---`,
  (l) => `${l}\n--- {}`,
  (l) => `${l}\n--- [a]`,
  (l) => `${l}\n--- scalar`,
  (l) => `${l}\n--- ~`,
  (l) => l.replace(/^(\s*)([\w.-]+): (.+)$/, `$1$2: !!str $3`),
  (l) => l.replace(/^(\s*)([\w.-]+): (.+)$/, `$1$2: &a $3\n$1x-alias: *a`),
  (l) => l.replace(/^(\s*)([\w.-]+): /, `$1${'k'.repeat(1100)}: `),
  (l) => `\uFEFF${l}`,
];

/** Every variant of `text` with one line changed by `change` (unchanged lines skipped). */
function variants(text: string, change: (line: string, at: number) => string | undefined): { at: number; text: string }[] {
  const lines = text.split('\n');
  const out: { at: number; text: string }[] = [];
  lines.forEach((line, at) => {
    const after = change(line, at);
    if (after === undefined || after === line) return;
    out.push({ at, text: [...lines.slice(0, at), after, ...lines.slice(at + 1)].join('\n') });
  });
  return out;
}

/** A line `KEY: VALUE` (optionally `- KEY: VALUE`): its indentation and `KEY: ` prefix. */
interface ScalarLine {
  readonly indent: string;
  readonly key: string;
}

/**
 * The lines of `text` that hold a scalar value, one per distinct context: replacing the value
 * of two lines with the same indentation, key (with its `- `) and the same shape of the lines
 * just before and after (indentation, blank, `---`, list item, comment) gives the parsers the
 * same problem in the same surroundings, so only the first such line is kept. This is what
 * makes the scalar test cheap enough for a loaded machine (about 2.4× fewer parses on the
 * example fleet) without dropping a scalar form or a kind of context.
 */
function lineContexts(text: string): Map<number, ScalarLine> {
  const lines = text.split('\n');
  const shape = (line: string | undefined) =>
    line === undefined
      ? 'none'
      : `${line.length - line.trimStart().length}:${line.trim() === '' ? 'blank' : line.startsWith('---') ? 'doc' : /^\s*- /.test(line) ? 'item' : /^\s*#/.test(line) ? 'comment' : 'line'}`;
  const seen = new Map<string, ScalarLine>();
  const out = new Map<number, ScalarLine>();
  lines.forEach((line, at) => {
    const m = /^(\s*)((?:- )?[\w.-]+: )\S/.exec(line);
    if (m === null) return;
    const context = JSON.stringify([m[1], m[2], shape(lines[at - 1]), shape(lines[at + 1])]);
    if (seen.has(context)) return;
    const entry = { indent: m[1]!, key: m[2]! };
    seen.set(context, entry);
    out.set(at, entry);
  });
  return out;
}

/** `file` with the value of one line replaced by one of `scalars`: every form, every line context. */
function scalarVariants(file: ManifestFile): { label: string; text: string }[] {
  const text = file.content as string;
  const contexts = lineContexts(text);
  return scalars.flatMap((scalar) =>
    variants(text, (_line, at) => {
      const c = contexts.get(at);
      return c === undefined ? undefined : `${c.indent}${c.key}${scalar.replace(/\n/g, `\n${c.indent}`)}`;
    }).map((v) => ({ label: `${file.path}:${v.at + 1} = ${JSON.stringify(scalar)}`, text: v.text })),
  );
}

/** Values with -0, NaN and the infinities kept apart. */
const exactJson = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && (Object.is(v, -0) || !Number.isFinite(v)) ? `number:${Object.is(v, -0) ? '-0' : String(v)}` : v));

/** When the fast parser accepts `text`, the exact parser agrees on everything; returns whether it accepted. */
function expectSameParse(path: string, text: string, label: string): boolean {
  const fast = parseYamlFileFast(path, text, 5000);
  if (fast === undefined) return false;
  const exact = parseYamlFile(path, text, { maxDocuments: 5000, maxAliasCount: 100, tooManyMessage: 'too many' });
  const view = (p: typeof exact) => ({
    problems: p.problems,
    count: p.count,
    resources: p.resources,
    documents: p.documents.map((d) => ({ start: d.start(), value: exactJson(d.value) })),
  });
  expect(view(fast), label).to.deep.equal(view(exact));
  return true;
}

describe('loadManifests: the fast parser gives the same result as the exact one', () => {
  for (const [name, fleet] of Object.entries(fleets)) {
    it(`${name}: unchanged`, () => {
      expect(fleet.length).to.be.greaterThan(3);
      const result = loadManifests(fleet);
      expect(result.snapshot, 'the fleet is valid').to.not.equal(undefined);
      expectSameLoad(fleet, name);
    });

    it(`${name}: with CRLF line ends, and without a final newline`, () => {
      expectSameLoad(
        fleet.map((f) => ({ path: f.path, content: (f.content as string).replace(/\n/g, '\r\n') })),
        'CRLF',
      );
      expectSameLoad(
        fleet.map((f) => ({ path: f.path, content: (f.content as string).replace(/\n+$/, '') })),
        'no final newline',
      );
    });

    // One test per file, so that none runs long on a loaded machine; each tries every scalar form
    // in every line context of the file (see `lineContexts`).
    for (const file of fleet) {
      it(`${name}: every scalar value replaced by other forms, parser by parser: ${file.path}`, () => {
        const tried = scalarVariants(file);
        for (const v of tried) expectSameParse(file.path, v.text, v.label);
        expect(tried.length, 'every scalar form in every line context').to.equal(lineContexts(file.content as string).size * scalars.length);
      });
    }

    it(`${name}: every scalar value replaced by other forms: the fast parser accepts enough of them to matter`, () => {
      const tried = fleet.flatMap((file) => scalarVariants(file).map((v) => ({ file, ...v })));
      const accepted = tried.filter((v) => parseYamlFileFast(v.file.path, v.text, 5000) !== undefined);
      expect(tried.length).to.be.greaterThan(1000);
      expect(accepted.length, 'the fast parser is exercised').to.be.greaterThan(tried.length / 4);
    });

    it(`${name}: every line mutated, parser by parser`, () => {
      let checked = 0;
      for (const file of fleet) {
        lineMutations.forEach((change, m) => {
          for (const v of variants(file.content as string, change)) {
            expectSameParse(file.path, v.text, `${file.path}:${v.at + 1} mutation ${m}`);
            expectSameParse(file.path, v.text.replace(/\n/g, '\r\n'), `${file.path}:${v.at + 1} mutation ${m}, CRLF`);
            checked++;
          }
        });
      }
      expect(checked).to.be.greaterThan(500);
    });

    it(`${name}: whole loads with one line changed (a sample)`, () => {
      const file = fleet.findIndex((f) => /deployments/.test(f.path));
      const text = fleet[file]!.content as string;
      const samples = [...scalars.slice(0, 20).map((s) => (l: string) => l.replace(/^(\s*(?:- )?[\w.-]+: ).*$/, `$1${s}`)), ...lineMutations.slice(0, 8)];
      for (const [k, change] of samples.entries()) {
        for (const v of variants(text, change).filter((_, i) => i % 7 === k % 7)) {
          expectSameLoad(
            fleet.map((f, i) => (i === file ? { path: f.path, content: v.text } : f)),
            `${fleet[file]!.path}:${v.at + 1} change ${k}`,
          );
        }
      }
    });
  }

  it('generated flow-style fleets, including problems across files', () => {
    const host = (i: number) => `apiVersion: ferry/v1\nkind: Host\nmetadata: {name: h${i}, labels: {n: "${i}"}}\nspec: {labels: {rack: r${i % 3}}}\n`;
    const group = (i: number, hosts: string) => `apiVersion: ferry/v1\nkind: Group\nmetadata: {name: g${i}}\nspec:\n  hosts: [${hosts}]\n`;
    const files: ManifestFile[] = [
      { path: 'hosts.yaml', content: [0, 1, 2, 3].map(host).join('---\n') },
      { path: 'groups.yaml', content: [group(0, 'h0, h1'), group(1, 'h2, h9'), group(0, 'h3')].join('---\n') },
      { path: 'more.yaml', content: `${group(2, 'h0')}---\n${host(4)}` },
    ];
    expectSameLoad(files, 'dangling host and duplicate group');
    expect(loadManifests(files).problems).to.not.deep.equal([]);
  });
});
