import { expect } from 'chai';
import { formatDuration, parseDuration } from '../../../core/units/duration.js';

describe('core/units: parseDuration (manifests, CLI flags and API bodies)', () => {
  const cases: { text: string; ms: number | undefined }[] = [
    { text: '500ms', ms: 500 },
    { text: '30s', ms: 30_000 },
    { text: '10m', ms: 600_000 },
    { text: '6h', ms: 21_600_000 },
    { text: '1d', ms: 86_400_000 },
    { text: '0s', ms: 0 },
    { text: '1h30m', ms: 5_400_000 },
    { text: '1d12h', ms: 129_600_000 },
    { text: '2m30s500ms', ms: 150_500 },
    { text: '1m1s', ms: 61_000 },
    { text: '90m', ms: 5_400_000 },
    { text: '', ms: undefined },
    { text: '30', ms: undefined },
    { text: 'h', ms: undefined },
    { text: '1.5h', ms: undefined },
    { text: '-1h', ms: undefined },
    { text: '1h 30m', ms: undefined },
    { text: ' 1h', ms: undefined },
    { text: '2 hours', ms: undefined },
    { text: '1w', ms: undefined },
    { text: '1H', ms: undefined },
    { text: 'forever', ms: undefined },
    { text: '99999999999999999d', ms: undefined },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.text)} → ${c.ms}`, () => {
      expect(parseDuration(c.text)).to.equal(c.ms);
    });
  }

  it('formats with the largest unit that divides, and reads back what it wrote', () => {
    const values = [1, 500, 1000, 90_000, 600_000, 5_400_000, 86_400_000, 129_600_000];
    expect(values.map(formatDuration)).to.deep.equal(['1ms', '500ms', '1s', '90s', '10m', '90m', '1d', '36h']);
    expect(values.map((ms) => parseDuration(formatDuration(ms)))).to.deep.equal(values);
  });
});
