import { expect } from 'chai';
import { formatBytes } from '../../../core/units/bytes.js';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('core/units: formatBytes (messages, conditions, plan diffs, package build, progress)', () => {
  const cases: { bytes: number; round?: 'nearest' | 'down'; text: string }[] = [
    { bytes: 0, text: '0 B' },
    { bytes: 1, text: '1 B' },
    { bytes: 1023, text: '1023 B' },
    { bytes: KiB, text: '1 KiB' },
    { bytes: 1536, text: '1.5 KiB' },
    { bytes: 4 * MiB, text: '4 MiB' },
    { bytes: 6.5 * MiB, text: '6.5 MiB' },
    { bytes: MiB - 1, text: '1 MiB' },
    { bytes: MiB - 1, round: 'down', text: '1023.9 KiB' },
    { bytes: 1.2 * GiB, text: '1.2 GiB' },
    { bytes: 1.99 * GiB, text: '2 GiB' },
    { bytes: 1.99 * GiB, round: 'down', text: '1.9 GiB' },
    { bytes: 3 * 1024 ** 4, text: '3 TiB' },
    { bytes: 2 * 1024 ** 6, text: '2048 PiB' },
  ];
  for (const c of cases) {
    it(`${c.bytes}${c.round === undefined ? '' : ` (${c.round})`} → ${c.text}`, () => {
      expect(formatBytes(c.bytes, c.round)).to.equal(c.text);
    });
  }
});
