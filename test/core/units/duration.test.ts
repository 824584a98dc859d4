import { expect } from 'chai';
import { formatDuration, parseDuration } from '../../../core/units/duration.js';

describe('core/units: parseDuration (manifests, CLI flags and API bodies)', () => {
  const accepted: Readonly<Record<string, number>> = {
    '500ms': 500,
    '30s': 30_000,
    '10m': 600_000,
    '6h': 21_600_000,
    '1d': 86_400_000,
    '0s': 0,
    '1h30m': 5_400_000,
    '1d12h': 129_600_000,
    '2m30s500ms': 150_500,
    '1m1s': 61_000,
    '90m': 5_400_000,
  };
  const refused = ['', '30', 'h', '1.5h', '-1h', '1h 30m', ' 1h', '2 hours', '1w', '1H', 'forever', '99999999999999999d'];

  it('reads single units and sums of units', () => {
    expect(Object.fromEntries(Object.keys(accepted).map((text) => [text, parseDuration(text)]))).to.deep.equal(accepted);
  });

  it('refuses anything else (spaces, fractions, signs, other units, overflow)', () => {
    expect(refused.map((text) => [text, parseDuration(text)])).to.deep.equal(refused.map((text) => [text, undefined]));
  });

  it('formats with the largest unit that divides, and reads back what it wrote', () => {
    const values = [1, 500, 1000, 90_000, 600_000, 5_400_000, 86_400_000, 129_600_000];
    expect(values.map(formatDuration)).to.deep.equal(['1ms', '500ms', '1s', '90s', '10m', '90m', '1d', '36h']);
    expect(values.map((ms) => parseDuration(formatDuration(ms)))).to.deep.equal(values);
  });
});
