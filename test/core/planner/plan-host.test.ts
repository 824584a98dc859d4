import { expect } from 'chai';
import { planFleet, type FleetPlan, type PlanningContext } from '../../../core/planner/index.js';
import type { HostPlan, Inventory, PlanAction } from '../../../core/plan/types.js';
import { condition, deployment, GiB, group, hostRes, inventory, pkg, relay, schedule, sha, snapshot } from './fixtures.js';

const H = 3_600_000;
const now = '2026-12-01T10:30:00Z';
const controller = { kind: 'controller', name: 'controller' } as const;
const installCmd = { command: ['sh', 'install.sh'], timeoutMs: 600_000, env: {} };
const uninstallCmd = { command: ['sh', 'uninstall.sh'], timeoutMs: 300_000, env: {} };

/** The expected action with planner defaults; `over` replaces fields. */
function act(id: string, over: Partial<PlanAction> = {}): PlanAction {
  const [deployment, rest, op] = id.split('/') as [string, string, 'install' | 'uninstall'];
  const [name, version] = rest.split('@') as [string, string];
  return {
    id,
    deployment,
    package: name,
    version,
    op,
    status: 'planned',
    blockedBy: [],
    artifact: { sha256: sha(name[0]!), size: 1024 },
    ...(op === 'install' ? { install: installCmd } : { uninstall: uninstallCmd }),
    conditions: [],
    distribute: { multicast: false, wake: false },
    shutdownAfter: false,
    suspended: false,
    ...over,
  };
}
const plan = (host: string, actions: PlanAction[], sources: HostPlan['sources'] = [controller]): HostPlan => ({ host, sources, actions });

type DeploymentArg = Parameters<typeof deployment>[1];
const present = (name: string, version: string) => ({ name, version, state: 'present' as const });
const absent = (name: string, version: string) => ({ name, version, state: 'absent' as const });
/** A deployment of `packages` that targets host h; `more` adds spec fields. */
const onH = (name: string, packages: DeploymentArg['packages'], more: Omit<DeploymentArg, 'packages' | 'targets'> = {}) =>
  deployment(name, { packages, targets: { hosts: ['h'] }, ...more });

const lib = pkg('runtime-lib', '1.0.0');
const core = pkg('core-lib', '2.0.0', { requires: ['runtime-lib'] });
const editor = pkg('editor', '2.4.1', { requires: ['core-lib'] });
const diskCond = condition('enough-disk', { minDiskFree: 2 * GiB });
const checkCond = condition('licensed', { check: { command: ['/usr/local/bin/license-check'], timeoutMs: 30_000, env: {} } });
const detectCmd = { command: ['sh', '-c', 'test -f "$FERRY_INSTALL_ROOT/opt/legacy-editor/VERSION"'], timeoutMs: 30_000, env: {} };
const legacy = pkg('legacy-editor', '1.0.3', { detect: detectCmd });
const lowDisk = { disk: { installRoot: { free: 1.2 * GiB, total: 100 * GiB } } };

interface Case {
  name: string;
  resources: Parameters<typeof snapshot>[0];
  inventories: Inventory[];
  ctx?: Partial<PlanningContext>;
  host: string;
  expected: HostPlan;
}

const cases: Case[] = [
  {
    name: 'install: one planned action per package',
    resources: [lib, onH('d', [present('runtime-lib', '1.0.0')])],
    inventories: [inventory('h')],
    host: 'h',
    expected: plan('h', [act('d/runtime-lib@1.0.0/install')]),
  },
  {
    name: 'uninstall when the inventory reports the package',
    resources: [lib, onH('d', [absent('runtime-lib', '1.0.0')])],
    inventories: [inventory('h', { software: [{ name: 'runtime-lib', version: '1.0.0', source: 'dpkg' }] })],
    host: 'h',
    expected: plan('h', [act('d/runtime-lib@1.0.0/uninstall')]),
  },
  {
    name: 'uninstall of something not installed is not-applicable',
    resources: [lib, onH('d', [absent('runtime-lib', '1.0.0')])],
    inventories: [inventory('h')],
    host: 'h',
    expected: plan('h', [act('d/runtime-lib@1.0.0/uninstall', { status: 'not-applicable', reason: 'runtime-lib 1.0.0 is not installed on this host' })]),
  },
  {
    name: 'uninstall on a host without inventory is unknown',
    resources: [lib, onH('d', [absent('runtime-lib', '1.0.0')])],
    inventories: [],
    host: 'h',
    expected: plan('h', [
      act('d/runtime-lib@1.0.0/uninstall', { status: 'unknown', reason: 'no inventory reported yet; the agent checks whether runtime-lib 1.0.0 is installed' }),
    ]),
  },
  ...(['reports', 'silent', 'none', 'ferry'] as const).map(
    (h): Case => ({
      name: `uninstall of a package with detect, host ${h === 'reports' ? 'reporting it: planned' : h === 'silent' ? 'not reporting it: unknown, the agent runs detect' : h === 'none' ? 'without inventory: unknown' : 'where Ferry installed it: planned'}`,
      resources: [legacy, deployment('d', { packages: [absent('legacy-editor', '1.0.3')], targets: { hosts: ['reports', 'silent', 'none', 'ferry'] } })],
      inventories: [inventory('reports', { software: [{ name: 'legacy-editor', version: '1.0.3', source: 'dpkg' }] }), inventory('silent'), inventory('ferry')],
      ctx: { installed: [{ host: 'ferry', deployment: 'old', package: 'legacy-editor', version: '1.0.3' }] },
      host: h,
      expected: plan(h, [
        act('d/legacy-editor@1.0.3/uninstall', {
          detect: detectCmd,
          ...(h === 'silent' ? { status: 'unknown', reason: 'not reported installed; the agent runs detect to decide' } : {}),
          ...(h === 'none' ? { status: 'unknown', reason: 'no inventory reported yet; the agent checks whether legacy-editor 1.0.3 is installed' } : {}),
        }),
      ]),
    }),
  ),
  {
    name: 'uninstall of a package with detect, reported at another version: unknown',
    resources: [legacy, onH('d', [absent('legacy-editor', '1.0.3')])],
    inventories: [inventory('h', { software: [{ name: 'legacy-editor', version: '0.9.0', source: 'dpkg' }] })],
    host: 'h',
    expected: plan('h', [act('d/legacy-editor@1.0.3/uninstall', { detect: detectCmd, status: 'unknown', reason: 'not reported installed; the agent runs detect to decide' })]),
  },
  {
    name: 'requires: transitive, in order, across deployments',
    resources: [lib, core, editor, onH('base', [present('runtime-lib', '1.0.0'), present('core-lib', '2.0.0')]), onH('apps', [present('editor', '2.4.1')])],
    inventories: [inventory('h')],
    host: 'h',
    expected: plan('h', [
      act('base/runtime-lib@1.0.0/install'),
      act('base/core-lib@2.0.0/install', { blockedBy: ['base/runtime-lib@1.0.0/install'] }),
      act('apps/editor@2.4.1/install', { blockedBy: ['base/runtime-lib@1.0.0/install', 'base/core-lib@2.0.0/install'] }),
    ]),
  },
  {
    name: 'requires: satisfied by reported software',
    resources: [lib, core, onH('d', [present('core-lib', '2.0.0')])],
    inventories: [inventory('h', { software: [{ name: 'runtime-lib', version: '0.9', source: 'rpm' }] })],
    host: 'h',
    expected: plan('h', [act('d/core-lib@2.0.0/install')]),
  },
  {
    name: 'requires: nothing provides it → blocked, and its dependents too',
    resources: [lib, core, editor, onH('d', [present('editor', '2.4.1'), present('core-lib', '2.0.0')])],
    inventories: [inventory('h')],
    host: 'h',
    expected: plan('h', [
      act('d/core-lib@2.0.0/install', { status: 'blocked', reason: 'requires runtime-lib, which no deployment installs on this host' }),
      act('d/editor@2.4.1/install', { blockedBy: ['d/core-lib@2.0.0/install'], status: 'blocked', reason: 'requires core-lib, whose action d/core-lib@2.0.0/install is blocked' }),
    ]),
  },
  {
    name: 'conditions: a failing one makes the action not-applicable with a plain reason',
    resources: [pkg('big', '1.0.0', { conditions: ['enough-disk'] }), diskCond, onH('d', [present('big', '1.0.0')])],
    inventories: [inventory('h', { facts: lowDisk })],
    host: 'h',
    expected: plan('h', [
      act('d/big@1.0.0/install', {
        artifact: { sha256: sha('b'), size: 1024 },
        status: 'not-applicable',
        reason: 'disk free 1.2 GiB < 2 GiB (condition enough-disk)',
        conditions: [{ name: 'enough-disk', verdict: 'fails', reason: 'disk free 1.2 GiB < 2 GiB', spec: diskCond.spec }],
      }),
    ]),
  },
  {
    name: 'conditions: a check program leaves the action unknown; holding ones are listed for the agent',
    resources: [pkg('big', '1.0.0', { conditions: ['enough-disk', 'licensed'] }), diskCond, checkCond, onH('d', [present('big', '1.0.0')])],
    inventories: [inventory('h')],
    host: 'h',
    expected: plan('h', [
      act('d/big@1.0.0/install', {
        artifact: { sha256: sha('b'), size: 1024 },
        status: 'unknown',
        reason: 'check /usr/local/bin/license-check runs on the host (condition licensed)',
        conditions: [
          { name: 'enough-disk', verdict: 'holds', spec: diskCond.spec },
          { name: 'licensed', verdict: 'unknown', reason: 'check /usr/local/bin/license-check runs on the host', spec: checkCond.spec },
        ],
      }),
    ]),
  },
  {
    name: 'conflict: two deployments, two versions → both blocked, naming both',
    resources: [editor, pkg('editor', '2.5.0'), pkg('core-lib', '2.0.0'), onH('old', [present('editor', '2.4.1')]), onH('new', [present('editor', '2.5.0')])],
    inventories: [inventory('h', { software: [{ name: 'core-lib', version: '2.0.0', source: 'ferry' }] })],
    host: 'h',
    expected: plan('h', [
      act('new/editor@2.5.0/install', {
        status: 'blocked',
        reason: 'conflict: deployments new (2.5.0 present) and old (2.4.1 present) ask different versions or states of editor on this host; neither is applied',
      }),
      act('old/editor@2.4.1/install', {
        status: 'blocked',
        reason: 'conflict: deployments new (2.5.0 present) and old (2.4.1 present) ask different versions or states of editor on this host; neither is applied',
      }),
    ]),
  },
  {
    name: 'no conflict when two deployments agree',
    resources: [lib, onH('a', [present('runtime-lib', '1.0.0')]), onH('b', [present('runtime-lib', '1.0.0')])],
    inventories: [inventory('h')],
    host: 'h',
    expected: plan('h', [act('a/runtime-lib@1.0.0/install'), act('b/runtime-lib@1.0.0/install')]),
  },
  {
    name: 'installed and reported: still listed as planned (the agent treats it as done)',
    resources: [lib, onH('d', [present('runtime-lib', '1.0.0')])],
    inventories: [inventory('h', { software: [{ name: 'runtime-lib', version: '1.0.0', source: 'ferry' }] })],
    host: 'h',
    ctx: { installed: [{ host: 'h', deployment: 'd', package: 'runtime-lib', version: '1.0.0' }] },
    expected: plan('h', [act('d/runtime-lib@1.0.0/install')]),
  },
  {
    name: 'drift: installed by Ferry but reported missing → planned again, said so',
    resources: [lib, onH('d', [present('runtime-lib', '1.0.0')])],
    inventories: [inventory('h')],
    host: 'h',
    ctx: { installed: [{ host: 'h', deployment: 'd', package: 'runtime-lib', version: '1.0.0' }] },
    expected: plan('h', [act('d/runtime-lib@1.0.0/install', { reason: 'drift: reported missing, reinstalling' })]),
  },
  {
    name: 'onLeave uninstall: a host that left the targets',
    resources: [lib, deployment('d', { packages: [present('runtime-lib', '1.0.0')], targets: { hosts: ['other'] }, onLeave: 'uninstall' })],
    inventories: [inventory('h')],
    host: 'h',
    ctx: { installed: [{ host: 'h', deployment: 'd', package: 'runtime-lib', version: '1.0.0' }] },
    expected: plan('h', [act('d/runtime-lib@1.0.0/uninstall', { reason: 'host left the targets of deployment d, which says onLeave: uninstall' })]),
  },
  {
    name: 'onLeave keep: nothing for a host that left',
    resources: [lib, deployment('d', { packages: [present('runtime-lib', '1.0.0')], targets: { hosts: ['other'] } })],
    inventories: [inventory('h')],
    host: 'h',
    ctx: { installed: [{ host: 'h', deployment: 'd', package: 'runtime-lib', version: '1.0.0' }] },
    expected: plan('h', []),
  },
  {
    name: 'onLeave: a deleted deployment uses the onLeave recorded at install time',
    resources: [lib],
    inventories: [inventory('h')],
    host: 'h',
    ctx: {
      installed: [
        { host: 'h', deployment: 'gone', package: 'runtime-lib', version: '1.0.0', onLeave: 'uninstall' },
        { host: 'h', deployment: 'kept', package: 'core-lib', version: '2.0.0' },
      ],
    },
    expected: plan('h', [act('gone/runtime-lib@1.0.0/uninstall', { reason: 'deployment gone was deleted and said onLeave: uninstall' })]),
  },
  {
    name: 'onLeave: the package definition is gone → blocked',
    resources: [],
    inventories: [inventory('h')],
    host: 'h',
    ctx: { installed: [{ host: 'h', deployment: 'gone', package: 'runtime-lib', version: '1.0.0', onLeave: 'uninstall' }] },
    expected: plan(
      'h',
      [
        act('gone/runtime-lib@1.0.0/uninstall', {
          artifact: { sha256: '', size: 0 },
          uninstall: undefined,
          status: 'blocked',
          reason: 'cannot uninstall runtime-lib 1.0.0: its Package definition is no longer in the manifests (deployment gone was deleted and said onLeave: uninstall)',
        }),
      ].map(({ uninstall: _u, ...a }) => a as PlanAction),
    ),
  },
  {
    name: 'onLeave: another deployment taking the package over gets it instead',
    resources: [lib, pkg('runtime-lib', '1.1.0'), onH('new', [present('runtime-lib', '1.1.0')])],
    inventories: [inventory('h')],
    host: 'h',
    ctx: { installed: [{ host: 'h', deployment: 'old', package: 'runtime-lib', version: '1.0.0', onLeave: 'uninstall' }] },
    expected: plan('h', [act('new/runtime-lib@1.1.0/install')]),
  },
  {
    name: 'suspended by spec or operator: listed with suspended: true',
    resources: [lib, core, onH('a', [present('runtime-lib', '1.0.0')], { suspended: true }), onH('b', [present('core-lib', '2.0.0')])],
    inventories: [inventory('h')],
    host: 'h',
    ctx: { suspended: new Set(['b']) },
    expected: plan('h', [
      act('a/runtime-lib@1.0.0/install', { suspended: true }),
      act('b/core-lib@2.0.0/install', { blockedBy: ['a/runtime-lib@1.0.0/install'], suspended: true }),
    ]),
  },
  {
    name: 'resumed by an operator: not suspended, whatever spec.suspended says',
    resources: [lib, onH('a', [present('runtime-lib', '1.0.0')], { suspended: true })],
    inventories: [inventory('h')],
    host: 'h',
    ctx: { resumed: new Set(['a']) },
    expected: plan('h', [act('a/runtime-lib@1.0.0/install')]),
  },
  {
    name: 'content unavailable: installs of it are blocked with the reason; uninstalls need no content',
    resources: [lib, pkg('editor', '2.4.1'), onH('a', [present('runtime-lib', '1.0.0')]), onH('z', [absent('editor', '2.4.1')])],
    inventories: [inventory('h', { software: [{ name: 'editor', version: '2.4.1', source: 'dpkg' }] })],
    host: 'h',
    ctx: {
      unavailable: new Map([
        [sha('r'), 'not in the content store; push it with `ferry package push FILE`'],
        [sha('e'), 'gone'],
      ]),
    },
    expected: plan('h', [
      act('a/runtime-lib@1.0.0/install', { status: 'blocked', reason: 'content unavailable: not in the content store; push it with `ferry package push FILE`' }),
      act('z/editor@2.4.1/uninstall'),
    ]),
  },
  {
    name: 'windows, transfer options and notBefore; installWindow of the package unless the deployment overrides it',
    resources: [
      pkg('runtime-lib', '1.0.0', { installWindow: 'lunch' }),
      pkg('core-lib', '2.0.0', { installWindow: 'lunch' }),
      schedule('nightly', { timezone: 'Asia/Tokyo', windows: [{ cron: '0 22 * * 1-5', durationMs: 6 * H }] }),
      schedule('lunch', { timezone: 'host', windows: [{ cron: '0 12 * * *', durationMs: H }] }),
      schedule('weekend', { timezone: 'UTC', windows: [{ cron: '0 0 * * 6', durationMs: 48 * H }] }),
      onH('a', [present('runtime-lib', '1.0.0')], {
        distribute: { notBefore: '2026-12-01T22:00:00+09:00', window: 'nightly', segmentSize: 4 * 1024 ** 2, segmentPauseMs: 2000, multicast: true, wake: true },
        install: { shutdownAfter: true },
      }),
      onH('b', [present('core-lib', '2.0.0')], { install: { window: 'weekend', shutdownAfter: false } }),
    ],
    inventories: [inventory('h', { facts: { timezone: 'Europe/Berlin' } })],
    host: 'h',
    expected: plan('h', [
      act('a/runtime-lib@1.0.0/install', {
        distribute: {
          notBefore: '2026-12-01T22:00:00+09:00',
          segmentSize: 4 * 1024 ** 2,
          segmentPauseMs: 2000,
          multicast: true,
          wake: true,
          // Tue 1 … Fri 4 and Mon 7 December, 22:00 JST for 6 h
          windows: ['12-01', '12-02', '12-03', '12-04', '12-07'].map((d) => ({ start: `2026-${d}T13:00:00Z`, end: `2026-${d}T19:00:00Z` })),
        },
        installWindows: ['01', '02', '03', '04', '05', '06', '07'].map((d) => ({ start: `2026-12-${d}T11:00:00Z`, end: `2026-12-${d}T12:00:00Z` })),
        shutdownAfter: true,
      }),
      act('b/core-lib@2.0.0/install', { installWindows: [{ start: '2026-12-05T00:00:00Z', end: '2026-12-07T00:00:00Z' }] }),
    ]),
  },
  {
    name: "an uninstall waits for the deployment's install window too (state: absent)",
    resources: [
      lib,
      schedule('weekend', { timezone: 'UTC', windows: [{ cron: '0 0 * * 6', durationMs: 48 * H }] }),
      onH('d', [absent('runtime-lib', '1.0.0')], { install: { window: 'weekend', shutdownAfter: false } }),
    ],
    inventories: [inventory('h', { software: [{ name: 'runtime-lib', version: '1.0.0', source: 'dpkg' }] })],
    host: 'h',
    expected: plan('h', [act('d/runtime-lib@1.0.0/uninstall', { installWindows: [{ start: '2026-12-05T00:00:00Z', end: '2026-12-07T00:00:00Z' }] })]),
  },
  {
    name: "sources: a relay's multicast session is announced with its source, in blocks that fit an Ethernet frame",
    resources: [
      hostRes('h', { relay: 'osaka' }),
      relay('osaka', {
        host: 'relay-osaka-01',
        url: 'http://relay-osaka-01:8470',
        serves: { groups: [], hosts: [] },
        multicast: { group: '239.255.70.1', port: 47000, rate: 12_000_000 },
      }),
    ],
    inventories: [inventory('h')],
    host: 'h',
    expected: plan(
      'h',
      [],
      [{ kind: 'relay', name: 'osaka', url: 'http://relay-osaka-01:8470', multicast: { group: '239.255.70.1', port: 47000, rate: 12_000_000, blockSize: 1408 } }, controller],
    ),
  },
  {
    name: 'sources: the Host manifest relay first, then relays serving its groups, then the controller; never itself',
    resources: [
      hostRes('h', { relay: 'osaka' }),
      group('site', { hosts: ['h', 'relay-kyoto-01'] }),
      relay('osaka', { host: 'relay-osaka-01', url: 'http://relay-osaka-01:8470', serves: { groups: [], hosts: [] } }),
      relay('kyoto', { host: 'relay-kyoto-01', url: 'http://relay-kyoto-01:8470', serves: { groups: ['site'], hosts: [] } }),
    ],
    inventories: [inventory('h')],
    host: 'h',
    expected: plan('h', [], [{ kind: 'relay', name: 'osaka', url: 'http://relay-osaka-01:8470' }, { kind: 'relay', name: 'kyoto', url: 'http://relay-kyoto-01:8470' }, controller]),
  },
];

function run(c: Pick<Case, 'resources' | 'inventories' | 'ctx'>): FleetPlan {
  return planFleet(snapshot(c.resources), c.inventories, { now, installed: [], ...c.ctx });
}

describe('core/planner host plans', () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(run(c).plans.get(c.host)).to.deep.equal(c.expected);
    });
  }
  it('a relay host does not fetch from itself', () => {
    const got = run(cases.at(-1)!).plans.get('relay-kyoto-01');
    expect(got).to.deep.equal(plan('relay-kyoto-01', []));
  });
});
