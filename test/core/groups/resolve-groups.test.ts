import { expect } from 'chai';
import { hostGroups, resolveGroups } from '../../../core/groups/index.js';
import type { Inventory } from '../../../core/plan/types.js';
import { group, hostRes, inventory, snapshot } from '../planner/fixtures.js';

const fleet: Inventory[] = [
  inventory('a1', { labels: { dept: 'sales' } }),
  inventory('a2', { labels: { dept: 'sales' }, facts: { os: { platform: 'darwin' } } }),
  inventory('a3', { labels: { dept: 'dev' }, facts: { os: { platform: 'windows' } } }),
  inventory('a4', { labels: { dept: 'dev', site: 'osaka' } }),
];

const cases: { name: string; resources: Parameters<typeof snapshot>[0]; inventories?: Inventory[]; groups: Record<string, string[]> }[] = [
  { name: 'static hosts', resources: [group('g', { hosts: ['x', 'y'] })], groups: { g: ['x', 'y'] } },
  { name: 'selector on labels', resources: [group('g', { selector: { labels: { dept: 'sales' }, facts: {} } })], groups: { g: ['a1', 'a2'] } },
  { name: 'selector on a dotted fact', resources: [group('g', { selector: { labels: {}, facts: { 'os.platform': 'linux' } } })], groups: { g: ['a1', 'a4'] } },
  { name: 'a list fact value means any of', resources: [group('g', { selector: { labels: {}, facts: { 'os.platform': ['darwin', 'windows'] } } })], groups: { g: ['a2', 'a3'] } },
  { name: 'all selector keys must match', resources: [group('g', { selector: { labels: { dept: 'dev' }, facts: { 'os.platform': 'linux' } } })], groups: { g: ['a4'] } },
  { name: 'numeric facts match their text', resources: [group('g', { selector: { labels: {}, facts: { cpus: 4 } } })], groups: { g: ['a1', 'a2', 'a3', 'a4'] } },
  {
    name: 'nested include is transitive',
    resources: [group('top', { include: ['mid'] }), group('mid', { include: ['leaf'], hosts: ['m'] }), group('leaf', { hosts: ['l'] })],
    groups: { leaf: ['l'], mid: ['l', 'm'], top: ['l', 'm'] },
  },
  {
    name: 'exclude is applied last, with the excluded group resolved fully',
    resources: [
      group('all', { selector: { labels: {}, facts: {} }, exclude: ['quarantine'] }),
      group('quarantine', { include: ['sales'], hosts: ['a4'] }),
      group('sales', { selector: { labels: { dept: 'sales' }, facts: {} } }),
    ],
    groups: { all: ['a3'], quarantine: ['a1', 'a2', 'a4'], sales: ['a1', 'a2'] },
  },
  {
    name: 'Host manifest labels win over agent labels',
    resources: [hostRes('a1', { labels: { dept: 'dev' } }), group('dev', { selector: { labels: { dept: 'dev' }, facts: {} } })],
    groups: { dev: ['a1', 'a3', 'a4'] },
  },
  {
    name: 'a host with no inventory matches no selector, even with manifest labels',
    resources: [hostRes('ghost', { labels: { dept: 'sales' } }), group('sales', { selector: { labels: { dept: 'sales' }, facts: {} } })],
    groups: { sales: ['a1', 'a2'] },
  },
  {
    name: 'include cycles are cut, not followed',
    resources: [group('x', { include: ['y'], hosts: ['hx'] }), group('y', { include: ['x'], hosts: ['hy'] })],
    groups: { x: ['hx', 'hy'], y: ['hy'] },
  },
];

describe('core/groups resolveGroups', () => {
  for (const c of cases) {
    it(c.name, () => {
      const got = resolveGroups(snapshot(c.resources), c.inventories ?? fleet);
      expect(Object.fromEntries([...got].map(([g, hs]) => [g, [...hs].sort()]))).to.deep.equal(c.groups);
    });
  }
  it('hostGroups inverts membership, groups sorted', () => {
    const got = hostGroups(resolveGroups(snapshot([group('b', { hosts: ['h1', 'h2'] }), group('a', { hosts: ['h2'] })]), []));
    expect(Object.fromEntries(got)).to.deep.equal({ h1: ['b'], h2: ['a', 'b'] });
  });
});
