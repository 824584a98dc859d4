/**
 * Versions by their source's rules (issue 15, item 2): dpkg's and rpm's comparisons against their
 * own test vectors, and one range text applied to every scheme — `git >=2.30` holds for Debian
 * 12's `1:2.39.5-0+deb12u1`, which semver.coerce read as 1.0.0.
 */
import { expect } from 'chai';
import { evaluateCondition } from '../../../core/conditions/index.js';
import type { ConditionResource } from '../../../core/manifest/types.js';
import type { Inventory } from '../../../core/plan/types.js';
import { compareDpkg, compareRpm, compileRange, parseDpkg, parseRpm, rpmvercmp, satisfiesFrom } from '../../../core/versions/index.js';
import { dpkgVectors, rpmVectors } from './vectors.js';

describe('versions: dpkg comparison (dpkg test vectors)', () => {
  for (const [a, b, want] of dpkgVectors) {
    it(`${a} ${want < 0 ? '<' : want > 0 ? '>' : '='} ${b}`, () => {
      expect(Math.sign(compareDpkg(parseDpkg(a)!, parseDpkg(b)!))).to.equal(want);
      expect(Math.sign(compareDpkg(parseDpkg(b)!, parseDpkg(a)!))).to.equal(-want);
    });
  }
});

describe('versions: rpm comparison (rpmvercmp test vectors)', () => {
  for (const [a, b, want] of rpmVectors) {
    it(`${a} ${want < 0 ? '<' : want > 0 ? '>' : '='} ${b}`, () => {
      expect(rpmvercmp(a, b)).to.equal(want);
    });
  }
  // biome-ignore format: a table
  const evr: [string, string, number][] = [
    ['1:1.0-1', '2.0-1', 1],
    ['0:1.0-1', '1.0-1', 0],
    ['2.30-1.el9', '2.30-2.el9', -1],
    ['2.30-1.el9', '2.30', 0],
  ];
  for (const [a, b, want] of evr) {
    it(`EVR ${a} vs ${b}: ${want}`, () => expect(compareRpm(parseRpm(a)!, parseRpm(b)!)).to.equal(want));
  }
});

describe('versions: one range for every source', () => {
  // biome-ignore format: a table of [range, source, version, satisfied]
  const cases: [string, string, string, boolean][] = [
    ['>=2.30', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['>=2.30', 'dpkg', '1:2.20.1-2+deb10u3', false],
    ['>=2.30 <3', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['^2.30', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['^2.30', 'dpkg', '1:3.0~rc1-1', false],
    ['~2.39', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['~2.38', 'dpkg', '1:2.39.5-0+deb12u1', false],
    ['2.39.x', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['2.39', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['<=2.39.5', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['<2.39.5', 'dpkg', '1:2.39.5-0+deb12u1', false],
    ['>=1:2.40', 'dpkg', '1:2.39.5-0+deb12u1', false],
    ['>=2:1.0', 'dpkg', '1:2.39.5-0+deb12u1', false],
    ['>=2.39.5-1', 'dpkg', '1:2.39.5-0+deb12u1', false],
    ['>=3.8', 'dpkg', '3.11.2-1+b1', true],
    ['>=3.8', 'dpkg', '3.8~rc1-1', false],
    ['>2.39', 'dpkg', '1:2.39.5-0+deb12u1', false],
    ['>2.38', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['1.0.0 - 2.39', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['<2 || >=2.39', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['*', 'dpkg', '1:2.39.5-0+deb12u1', true],
    ['>=2.30', 'rpm', '2.43.5-1.el9', true],
    ['>=2.30', 'rpm', '1:2.20.1-1.el8', false],
    ['<2.44', 'rpm', '2.43.5-1.el9', true],
    ['^2.43', 'rpm', '2.43.5-1.el9', true],
    ['>=1.0', 'rpm', '1.0~rc1-1', false],
    ['>=2.30', 'ferry', '2.39.5', true],
    ['>=2.30', 'ferry', '2.4.1', false],
    ['^2.0.0', 'ferry', '2.4.1', true],
    ['>=3.8', 'brew', '3.11.2', true],
  ];
  for (const [range, source, version, want] of cases) {
    it(`${source} ${version} ${want ? 'satisfies' : 'does not satisfy'} ${range}`, () => {
      const compiled = compileRange(range);
      expect(compiled).to.not.equal(undefined);
      expect(satisfiesFrom(source, version, compiled!)).to.equal(want);
    });
  }

  it('refuses text that is no range', () => {
    expect(['latest', '>= banana', '2.x.1', ''].map((t) => compileRange(t) !== undefined)).to.deep.equal([false, false, false, true]);
  });

  it('holds `git >=2.30` on a Debian 12 host', () => {
    const cond: ConditionResource = {
      apiVersion: 'ferry/v1',
      kind: 'Condition',
      metadata: { name: 'git', labels: {}, annotations: {} },
      spec: { software: { present: [{ name: 'git', version: '>=2.30' }], absent: [] } },
      source: { file: 'c.yaml', line: 1, col: 1 },
    };
    const inventory = (version: string, source: string): Inventory => ({ facts: {}, software: [{ name: 'git', version, source }] }) as unknown as Inventory;
    expect(evaluateCondition(cond, inventory('1:2.39.5-0+deb12u1', 'dpkg')).verdict).to.equal('holds');
    expect(evaluateCondition(cond, inventory('1:2.20.1-2+deb10u3', 'dpkg'))).to.deep.include({ verdict: 'fails', reason: 'git 1:2.20.1-2+deb10u3 does not satisfy >=2.30' });
  });
});
