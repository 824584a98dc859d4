import { expect } from 'chai';
import { VersionedSet } from '../../../core/planner/versioned-map.js';

describe('core/planner VersionedSet', () => {
  const members = (s: ReadonlySet<string>) => [...s].sort();

  it('makes each next version from the changes alone; every version stays readable', () => {
    const v0 = VersionedSet.from(new Set(['a', 'b', 'c']));
    const v1 = v0.with(
      new Map([
        ['d', true],
        ['a', false],
      ]),
    );
    const v2 = v1.with(
      new Map([
        ['a', true],
        ['b', false],
      ]),
    );
    const v3 = v2.with(new Map([['c', false]]));
    expect(members(v0)).to.deep.equal(['a', 'b', 'c']);
    expect(members(v1)).to.deep.equal(['b', 'c', 'd']);
    expect(members(v2)).to.deep.equal(['a', 'c', 'd']);
    expect(members(v3)).to.deep.equal(['a', 'd']);
    expect([v0.size, v1.size, v2.size, v3.size]).to.deep.equal([3, 3, 3, 2]);
    expect([v0.has('a'), v1.has('a'), v2.has('a'), v3.has('c'), v3.has('zz')]).to.deep.equal([true, false, true, false, false]);
    // Changes that change nothing: the same version.
    expect(
      v3.with(
        new Map([
          ['a', true],
          ['b', false],
        ]),
      ),
    ).to.equal(v3);
  });

  it('a version made from an older one (a branch) leaves the newer ones as they were', () => {
    const v0 = VersionedSet.from(new Set(['a', 'b']));
    const v1 = v0.with(new Map([['c', true]]));
    const branch = v0.with(new Map([['b', false]]));
    expect(members(branch)).to.deep.equal(['a']);
    expect(members(v1)).to.deep.equal(['a', 'b', 'c']);
    expect(members(v0)).to.deep.equal(['a', 'b']);
  });

  it('starts a fresh table once the changes outgrow the members, older versions still readable', () => {
    const first = VersionedSet.from(new Set(['m']));
    let s = first;
    const versions = [s];
    for (let i = 0; i < 300; i++) {
      s = s.with(new Map([[`h${i % 7}`, i % 2 === 0]]));
      versions.push(s);
    }
    const expected = new Set(['m']);
    for (let i = 0; i < 300; i++) {
      if (i % 2 === 0) expected.add(`h${i % 7}`);
      else expected.delete(`h${i % 7}`);
      expect(members(versions[i + 1]!), `version ${i + 1}`).to.deep.equal([...expected].sort());
      expect(versions[i + 1]!.size).to.equal(expected.size);
    }
    expect(members(first)).to.deep.equal(['m']);
  });
});
