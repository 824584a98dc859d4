import { expect } from 'chai';
import { VersionedMap, VersionedSet } from '../../../core/planner/versioned-map.js';

describe('core/planner VersionedMap', () => {
  it('the version a newer one was made from stays readable; one superseded twice throws', () => {
    const v0 = VersionedMap.of([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    const v1 = v0.with(
      new Map<string, number | undefined>([
        ['a', 10],
        ['b', undefined],
        ['d', 4],
      ]),
    );
    expect([...v0]).to.deep.equal([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect([...v1]).to.deep.equal([
      ['a', 10],
      ['c', 3],
      ['d', 4],
    ]);
    expect([v0.size, v1.size, v0.get('d'), v1.get('b'), v1.has('d')]).to.deep.equal([3, 3, undefined, undefined, true]);
    const v2 = v1.with(new Map([['b', 5]]));
    // A key deleted and set again keeps its place.
    expect([...v2.keys()]).to.deep.equal(['a', 'b', 'c', 'd']);
    expect([...v1.keys()]).to.deep.equal(['a', 'c', 'd']);
    expect(() => v0.get('a')).to.throw(/superseded twice/);
    // Changes that change nothing: the same version.
    expect(v2.with(new Map([['a', 10]]))).to.equal(v2);
  });

  it('a version made from an older one (a branch) is a copy and leaves the newer one as it was', () => {
    const v0 = VersionedMap.of([['a', 1]]);
    const v1 = v0.with(new Map([['b', 2]]));
    const branch = v0.with(new Map([['a', 7]]));
    expect([...branch]).to.deep.equal([['a', 7]]);
    expect([...v1]).to.deep.equal([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('holds one value a key plus what the newest version changed, however many versions were made', () => {
    let m = VersionedMap.of(Array.from({ length: 1000 }, (_, i) => [`h${i}`, i] as const));
    for (let round = 1; round <= 500; round++) {
      m = m.with(new Map(Array.from({ length: 10 }, (_, i) => [`h${(round * 10 + i) % 1000}`, round] as const)));
      // Hosts joining one by one, as they enroll.
      m = m.with(new Map([[`new${round}`, round]]));
    }
    expect(m.size).to.equal(1500);
    expect(m.get('h10')).to.equal(401);
    expect(m.retained()).to.equal(1500 + 1);
  });
});

describe('core/planner VersionedMap.changedSince', () => {
  it('names the keys the newest version changed from the one it was made from, and nothing else is known', () => {
    const v0 = VersionedMap.of([
      ['a', 1],
      ['b', 2],
    ]);
    const v1 = v0.with(
      new Map<string, number | undefined>([
        ['a', 1],
        ['b', 3],
        ['c', 4],
      ]),
    );
    expect(v1.changedSince(v0)).to.deep.equal(new Set(['b', 'c']));
    expect(v1.changedSince(v1)).to.deep.equal(new Set());
    const v2 = v1.with(new Map<string, number | undefined>([['a', undefined]]));
    expect(v2.changedSince(v1)).to.deep.equal(new Set(['a']));
    // Two versions apart, an older version's view, another table or a plain Map: unknown.
    expect(v2.changedSince(v0)).to.equal(undefined);
    expect(v1.changedSince(v0)).to.equal(undefined);
    expect(v2.changedSince(VersionedMap.of(v1))).to.equal(undefined);
    expect(v2.changedSince(new Map(v1))).to.equal(undefined);
  });
});

describe('core/planner VersionedSet retention', () => {
  it('names that joined once hold no change object; a name that left and came back holds its changes', () => {
    let s = VersionedSet.from(new Set(['m']));
    const first = s;
    for (let i = 0; i < 1000; i++) s = s.with(new Map([[`h${i}`, true]]));
    expect(s.size).to.equal(1001);
    expect(s.retainedObjects()).to.equal(0);
    const left = s.with(new Map([['h3', false]]));
    const back = left.with(new Map([['h3', true]]));
    expect(back.retainedObjects()).to.equal(3);
    expect([s.has('h3'), left.has('h3'), back.has('h3'), first.has('h3'), first.size]).to.deep.equal([true, false, true, false, 1]);
  });
});
