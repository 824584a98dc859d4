import { expect } from 'chai';
import { decode, encodeHeader, HEADER_BYTES, sessionId } from '../../../lib/multicast/datagram.js';
import { coalesceRanges, GapList } from '../../../lib/multicast/gap-list.js';

describe('multicast gap list', () => {
  const cases: { name: string; size: number; blockSize: number; held: number[]; missing: { start: number; end: number }[] }[] = [
    { name: 'nothing held: one range', size: 10, blockSize: 4, held: [], missing: [{ start: 0, end: 9 }] },
    { name: 'everything held', size: 10, blockSize: 4, held: [0, 1, 2], missing: [] },
    { name: 'the short last block', size: 10, blockSize: 4, held: [0, 1], missing: [{ start: 8, end: 9 }] },
    {
      name: 'holes joined per run',
      size: 40,
      blockSize: 4,
      held: [1, 4, 5, 9],
      missing: [
        { start: 0, end: 3 },
        { start: 8, end: 15 },
        { start: 24, end: 35 },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const g = new GapList(c.size, c.blockSize);
      for (const i of c.held) g.mark(i);
      expect(g.missing()).to.deep.equal(c.missing);
      expect(g.missingBytes()).to.equal(c.missing.reduce((n, r) => n + r.end - r.start + 1, 0));
      const again = GapList.fromBuffer(g.toBuffer(), c.size, c.blockSize);
      expect(again.missing()).to.deep.equal(c.missing);
      expect(again.count).to.equal(c.held.length);
    });
  }

  it('a saved list for another size or block size starts empty', () => {
    const g = new GapList(100, 10);
    g.mark(3);
    expect(GapList.fromBuffer(g.toBuffer(), 101, 10).count).to.equal(0);
    expect(GapList.fromBuffer(g.toBuffer(), 100, 20).count).to.equal(0);
    expect(GapList.fromBuffer(g.toBuffer().subarray(1), 100, 10).count).to.equal(0);
  });
});

describe('coalesceRanges', () => {
  const r = (start: number, end: number) => ({ start, end });
  it('joins neighbours less than maxHole bytes apart, and only those', () => {
    // Holes: 3 bytes (10-12), 4 bytes (21-24), 100 bytes (31-130).
    const ranges = [r(0, 9), r(13, 20), r(25, 30), r(131, 140)];
    expect(coalesceRanges(ranges, 4)).to.deep.equal([r(0, 20), r(25, 30), r(131, 140)]);
    expect(coalesceRanges(ranges, 5)).to.deep.equal([r(0, 30), r(131, 140)]);
    expect(coalesceRanges(ranges, 0)).to.deep.equal(ranges);
    expect(coalesceRanges([], 4096)).to.deep.equal([]);
  });
});

describe('multicast datagram', () => {
  const session = sessionId('ab'.repeat(32));
  it('round-trips data and end datagrams', () => {
    const payload = Buffer.from('block bytes');
    const data = Buffer.concat([encodeHeader({ type: 'data', rounds: 3, round: 2, session, value: 7 }), payload]);
    expect(decode(data)).to.deep.equal({ type: 'data', rounds: 3, round: 2, session, index: 7, payload });
    expect(decode(encodeHeader({ type: 'end', rounds: 3, round: 1, session, value: 99 }))).to.deep.equal({ type: 'end', rounds: 3, round: 1, session, blocks: 99 });
  });

  const bad: { name: string; bytes: () => Buffer }[] = [
    { name: 'too short', bytes: () => Buffer.alloc(HEADER_BYTES - 1) },
    { name: 'wrong magic', bytes: () => Buffer.alloc(HEADER_BYTES) },
    { name: 'unknown type', bytes: () => encodeHeader({ type: 'data', rounds: 1, round: 1, session, value: 0 }).fill(9, 4, 5) },
    { name: 'round 0', bytes: () => encodeHeader({ type: 'data', rounds: 1, round: 0, session, value: 0 }) },
    { name: 'round past the rounds', bytes: () => encodeHeader({ type: 'data', rounds: 2, round: 3, session, value: 0 }) },
    { name: 'reserved bytes set', bytes: () => encodeHeader({ type: 'data', rounds: 1, round: 1, session, value: 0 }).fill(1, 20, 21) },
    { name: 'an end with a payload', bytes: () => Buffer.concat([encodeHeader({ type: 'end', rounds: 1, round: 1, session, value: 1 }), Buffer.from('x')]) },
  ];
  for (const c of bad) it(`drops a datagram: ${c.name}`, () => expect(decode(c.bytes())).to.equal(undefined));
});
