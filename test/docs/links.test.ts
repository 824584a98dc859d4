/**
 * The documentation's links hold: every relative link in README.md and docs/*.md names a file that
 * exists and, with `#anchor`, a heading in it (GitHub's anchor rules); every systemd unit's
 * `Documentation=` names a page that ships with the package.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../support/ferry.js';

/** The lines of a markdown text outside fenced code blocks. */
function prose(text: string): string[] {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === undefined) fence = m[1];
      else if (m[1]!.startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence === undefined) out.push(line);
  }
  return out;
}

/** GitHub's anchors for a markdown file's headings (duplicates get -1, -2, …). */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const slug = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

const pages = [
  'README.md',
  ...readdirSync(join(repoRoot, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Every link that does not leave the repository, as `PAGE: TARGET` with what is wrong with it. */
function brokenLinks(): string[] {
  const broken: string[] = [];
  for (const page of pages) {
    const text = readFileSync(join(repoRoot, page), 'utf8');
    for (const line of prose(text)) {
      for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue;
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const file = path === '' ? join(repoRoot, page) : join(repoRoot, dirname(page), path);
        if (!existsSync(file)) {
          broken.push(`${page}: ${target} (no such file)`);
          continue;
        }
        if (anchor !== undefined && (!statSync(file).isFile() || !anchors(readFileSync(file, 'utf8')).has(anchor))) {
          broken.push(`${page}: ${target} (no such heading in ${relative(repoRoot, file)})`);
        }
      }
    }
  }
  return broken;
}

describe('documentation links', () => {
  it('every relative link in README.md and docs/ names an existing file and heading', () => {
    expect(pages.length).to.be.greaterThan(5);
    expect(brokenLinks()).to.deep.equal([]);
  });

  it("every systemd unit's Documentation= names a page the package ships", () => {
    const dir = join(repoRoot, 'examples/systemd');
    const units = readdirSync(dir).filter((f) => f.endsWith('.service'));
    const shipped: string[] = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).files;
    const installed = '/usr/lib/node_modules/ferry/';
    const found = units.map((unit) => {
      const docs = [...readFileSync(join(dir, unit), 'utf8').matchAll(/^Documentation=(.*)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
      return {
        unit,
        problems:
          docs.length === 0
            ? ['no Documentation=']
            : docs.flatMap((uri) => {
                if (!/^(file|https?|man|info):/.test(uri)) return [`${uri}: not a URI systemd accepts`];
                if (!uri.startsWith('file:')) return [];
                if (!uri.startsWith(`file://${installed}`)) return [`${uri}: a file: page must be under ${installed} (where npm install -g puts the package)`];
                const path = uri.slice(`file://${installed}`.length);
                const inPackage = shipped.some((f) => (f.endsWith('/') ? path.startsWith(f) : path === f));
                return [...(existsSync(join(repoRoot, path)) ? [] : [`${uri}: ${path} does not exist`]), ...(inPackage ? [] : [`${uri}: ${path} is not in package.json "files"`])];
              }),
      };
    });
    expect(found).to.deep.equal(units.map((unit) => ({ unit, problems: [] })));
  });
});
