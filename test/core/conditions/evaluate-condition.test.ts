import { expect } from 'chai';
import { evaluateCondition, formatBytes } from '../../../core/conditions/index.js';
import type { ConditionSpec } from '../../../core/manifest/types.js';
import type { ConditionResult, Inventory } from '../../../core/plan/types.js';
import { condition, GiB, inventory } from '../planner/fixtures.js';

const py = (version: string) => ({ name: 'python3', version, source: 'dpkg' });
const cases: { name: string; spec: ConditionSpec; inv: Inventory | undefined; verdict: ConditionResult['verdict']; reason?: string }[] = [
  { name: 'os holds', spec: { os: ['linux', 'darwin'] }, inv: inventory('h'), verdict: 'holds' },
  { name: 'os fails', spec: { os: ['darwin'] }, inv: inventory('h'), verdict: 'fails', reason: 'os linux is not one of darwin' },
  { name: 'arch fails', spec: { arch: ['arm64'] }, inv: inventory('h'), verdict: 'fails', reason: 'arch x64 is not one of arm64' },
  {
    name: 'disk free in binary units, one decimal',
    spec: { minDiskFree: 2 * GiB },
    inv: inventory('h', { facts: { disk: { installRoot: { free: 1.2 * GiB, total: 1 } } } }),
    verdict: 'fails',
    reason: 'disk free 1.2 GiB < 2 GiB',
  },
  {
    name: 'disk free never rounds up to the limit',
    spec: { minDiskFree: 2 * GiB },
    inv: inventory('h', { facts: { disk: { installRoot: { free: 1.99 * GiB, total: 1 } } } }),
    verdict: 'fails',
    reason: 'disk free 1.9 GiB < 2 GiB',
  },
  { name: 'memory fails', spec: { minMemory: 16 * GiB }, inv: inventory('h'), verdict: 'fails', reason: 'memory 8 GiB < 16 GiB' },
  { name: 'cpus fails', spec: { minCpus: 8 }, inv: inventory('h'), verdict: 'fails', reason: 'cpus 4 < 8' },
  {
    name: 'software present with a loose version',
    spec: { software: { present: [{ name: 'python3', version: '>=3.8' }], absent: [] } },
    inv: inventory('h', { software: [py('3.11.2-1')] }),
    verdict: 'holds',
  },
  {
    name: 'software present too old',
    spec: { software: { present: [{ name: 'python3', version: '>=3.8' }], absent: [] } },
    inv: inventory('h', { software: [py('3.6.9')] }),
    verdict: 'fails',
    reason: 'python3 3.6.9 does not satisfy >=3.8',
  },
  {
    name: 'software present missing',
    spec: { software: { present: [{ name: 'python3' }], absent: [] } },
    inv: inventory('h'),
    verdict: 'fails',
    reason: 'python3 is not installed',
  },
  {
    name: 'software absent fails',
    spec: { software: { present: [], absent: [{ name: 'python3', version: '<3' }] } },
    inv: inventory('h', { software: [py('2.7.18')] }),
    verdict: 'fails',
    reason: 'python3 2.7.18 is installed',
  },
  {
    name: 'software absent outside the range holds',
    spec: { software: { present: [], absent: [{ name: 'python3', version: '<3' }] } },
    inv: inventory('h', { software: [py('3.1')] }),
    verdict: 'holds',
  },
  {
    name: 'a check program is undecidable here',
    spec: { check: { command: ['/usr/local/bin/license-check'], timeoutMs: 30_000, env: {} } },
    inv: inventory('h'),
    verdict: 'unknown',
    reason: 'check /usr/local/bin/license-check runs on the host',
  },
  { name: 'no inventory yet', spec: { minCpus: 1 }, inv: undefined, verdict: 'unknown', reason: 'no inventory reported yet' },
  { name: 'a missing fact is unknown', spec: { minCpus: 1 }, inv: { host: 'h', facts: {}, labels: {}, software: [] }, verdict: 'unknown', reason: 'cpus not reported' },
  {
    name: 'failures beat unknowns, all listed',
    spec: { os: ['darwin'], minCpus: 8, check: { command: ['x'], timeoutMs: 1, env: {} } },
    inv: inventory('h'),
    verdict: 'fails',
    reason: 'os linux is not one of darwin; cpus 4 < 8',
  },
];

describe('core/conditions evaluateCondition', () => {
  for (const c of cases) {
    it(c.name, () => {
      const got = evaluateCondition(condition('cond', c.spec), c.inv);
      expect(got).to.deep.equal({ name: 'cond', verdict: c.verdict, ...(c.reason === undefined ? {} : { reason: c.reason }), spec: c.spec });
    });
  }
  const sizes: [number, string][] = [
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [4 * 1024 ** 2, '4 MiB'],
    [2 * GiB, '2 GiB'],
  ];
  for (const [bytes, text] of sizes) it(`formatBytes ${bytes} → ${text}`, () => expect(formatBytes(bytes)).to.equal(text));
});
