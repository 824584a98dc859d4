/** The relay's `Range` reading: one byte range, as the controller reads it; anything else gets the whole content. */
import { expect } from 'chai';
import { parseRange } from '../../../agent/relay/content-route.js';

describe('relay: parseRange', () => {
  const size = 1000;
  const cases: { name: string; header: string | undefined; want: ReturnType<typeof parseRange> }[] = [
    { name: 'no header', header: undefined, want: 'full' },
    { name: 'a closed range', header: 'bytes=0-99', want: { start: 0, end: 99 } },
    { name: 'an open range', header: 'bytes=900-', want: { start: 900, end: 999 } },
    { name: 'a suffix', header: 'bytes=-100', want: { start: 900, end: 999 } },
    { name: 'a suffix longer than the content', header: 'bytes=-5000', want: { start: 0, end: 999 } },
    { name: 'an end past the content', header: 'bytes=990-5000', want: { start: 990, end: 999 } },
    { name: 'a start at the end', header: 'bytes=1000-', want: 'unsatisfiable' },
    { name: 'an empty suffix', header: 'bytes=-0', want: 'unsatisfiable' },
    { name: 'end before start', header: 'bytes=50-10', want: 'full' },
    { name: 'several ranges', header: 'bytes=0-1,5-6', want: 'full' },
    { name: 'another unit', header: 'items=0-1', want: 'full' },
    { name: 'no numbers', header: 'bytes=-', want: 'full' },
  ];
  for (const c of cases) it(c.name, () => expect(parseRange(c.header, size)).to.deep.equal(c.want));
});
