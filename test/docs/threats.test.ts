/**
 * docs/THREATS.md: every test file it names exists, and every threat row names at least one.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/ferry.js';

const text = readFileSync(join(repoRoot, 'docs/THREATS.md'), 'utf8');
const named = (s: string) => [...s.matchAll(/`(test\/[\w./-]+\.test\.ts)`/g)].map((m) => m[1]!);

describe('docs/THREATS.md', () => {
  it('names only test files that exist', () => {
    const paths = [...new Set(named(text))];
    expect(paths.length).to.be.greaterThan(20);
    expect(paths.filter((p) => !existsSync(join(repoRoot, p)))).to.deep.equal([]);
  });

  it('names a test for every threat row', () => {
    const rows = text.split('\n').filter((l) => /^\| \*\*/.test(l));
    expect(rows.length).to.be.greaterThan(15);
    expect(rows.filter((r) => named(r).length === 0).map((r) => r.slice(0, 60))).to.deep.equal([]);
  });

  it('covers TUF’s threats and Ferry’s own', () => {
    const threats = text
      .split('\n')
      .flatMap((l) => /^\| \*\*([^*]+)\*\*/.exec(l)?.[1] ?? [])
      .map((t) => t.split(':')[0]!.toLowerCase());
    // biome-ignore format: one threat a line
    expect(threats).to.include.members([
      'arbitrary software', 'rollback', 'indefinite freeze', 'endless data', 'extraneous dependencies', 'mix-and-match',
      'malicious mirrors and relays', 'slow retrieval', 'key compromise',
      'a compromised host reads or writes another host’s data', 'a forged report', 'a malicious manifest commit',
      'a malicious package archive', 'a hostile relay', 'a stolen enrollment token', 'a stolen admin token',
    ]);
  });
});
