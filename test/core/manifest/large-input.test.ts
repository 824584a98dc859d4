/**
 * Large manifests under the per-file limit are validated in linear time (issue 15, item 7): the
 * checks ajv generates for every `uniqueItems` list must be its linear one (a scalar item type,
 * checked with a map) rather than its pairwise one, and a 50,000-host group validates, with a
 * duplicate at its end reported at FILE:LINE. The time itself is in `npm run bench -- validate`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadManifests } from '../../../core/manifest/index.js';
import { repoRoot } from '../../support/ferry.js';

type Json = { readonly [k: string]: unknown };

/** Every `uniqueItems: true` list in the schemas, with the types its items declare (ajv's linear check needs one). */
function uniqueLists(): { where: string; itemTypes: unknown }[] {
  const out: { where: string; itemTypes: unknown }[] = [];
  const dirs = ['schemas', 'schemas/api'];
  for (const dir of dirs) {
    for (const f of readdirSync(join(repoRoot, dir)).filter((n) => n.endsWith('.json'))) {
      const walk = (node: unknown, path: string) => {
        if (node === null || typeof node !== 'object') return;
        const o = node as Json;
        if (o['uniqueItems'] === true) out.push({ where: `${dir}/${f}${path}`, itemTypes: (o['items'] as Json | undefined)?.['type'] });
        for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
      };
      walk(JSON.parse(readFileSync(join(repoRoot, dir, f), 'utf8')), '#');
    }
  }
  return out;
}

/** A group of `n` hosts, one per line from line 6 on. */
function bigGroup(n: number, last = `host-${String(n - 1).padStart(6, '0')}`): string {
  const hosts = Array.from({ length: n - 1 }, (_, i) => `  - host-${String(i).padStart(6, '0')}`);
  return `apiVersion: ferry/v1\nkind: Group\nmetadata: {name: big}\nspec:\n  hosts:\n${hosts.join('\n')}\n  - ${last}\n`;
}

describe('loadManifests: large input in linear time', () => {
  it('declares a scalar item type on every uniqueItems list, so ajv checks it with a map, not pairwise', () => {
    const lists = uniqueLists();
    expect(lists.length).to.be.greaterThan(0);
    expect(lists.filter((l) => l.itemTypes !== 'string' && l.itemTypes !== 'number' && l.itemTypes !== 'integer')).to.deep.equal([]);
  });

  it('validates a 50,000-host group', () => {
    const result = loadManifests([{ path: 'g.yaml', content: bigGroup(50_000) }]);
    expect(result.problems).to.deep.equal([]);
    expect(result.snapshot?.groups.get('big')?.spec.hosts.length).to.equal(50_000);
  });

  it('reports a duplicate at the end of a 50,000-host group at its FILE:LINE', () => {
    const result = loadManifests([{ path: 'g.yaml', content: bigGroup(50_000, 'host-000007') }]);
    expect(result.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`)).to.deep.equal(['g.yaml:50005:5: spec.hosts: lists "host-000007" twice; list it once']);
  });
});
