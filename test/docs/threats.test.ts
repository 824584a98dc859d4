/**
 * docs/THREATS.md: every test file it names exists, and every threat row names at least one.
 * `pending` lists the files of work merged separately (publisher signatures); they are checked
 * once they exist, and the list is emptied when that work is merged.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/ferry.js';

// PENDING: remove at the merge of the publisher-signature work.
const pending = new Set(['test/core/signing/publisher.test.ts', 'test/e2e/publisher-signatures.test.ts', 'test/e2e/key-rotation.test.ts', 'test/cli/audit.test.ts']);

const text = readFileSync(join(repoRoot, 'docs/THREATS.md'), 'utf8');
const named = (s: string) => [...s.matchAll(/`(test\/[\w./-]+\.test\.ts)`/g)].map((m) => m[1]!);

describe('docs/THREATS.md', () => {
  it('names only test files that exist (or are pending a merge)', () => {
    const paths = [...new Set(named(text))];
    expect(paths.length).to.be.greaterThan(20);
    expect(paths.filter((p) => !existsSync(join(repoRoot, p)) && !pending.has(p))).to.deep.equal([]);
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
