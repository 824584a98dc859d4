import { expect } from 'chai';
import { diffFleetPlans, type ActionSummary, type FleetDiff, type FleetPlans } from '../../../core/plan-diff/index.js';
import type { PlanAction } from '../../../core/plan/types.js';
import { action, fleet, plan, sha } from './fixtures.js';

const MiB = 1_048_576;
const direct = { name: 'controller (direct)' };
const osaka = { relay: 'osaka', name: 'osaka' };

/** The expected summary of an action (spelled out, not computed by the code under test). */
function s(a: PlanAction): ActionSummary {
  return {
    id: a.id,
    deployment: a.deployment,
    package: a.package,
    version: a.version,
    op: a.op,
    status: a.status,
    blockedBy: a.blockedBy,
    ...(a.reason === undefined ? {} : { reason: a.reason }),
    artifact: a.artifact,
  };
}

const zeroTotals = { hosts: 0, added: 0, removed: 0, changed: 0, becameNotApplicable: 0, bytes: 0 };

type HostRow = FleetDiff['hosts'][number];
type DeploymentRow = FleetDiff['deployments'][number];

/** An expected host row: a direct host with nothing added, removed or changed unless `fields` says so. */
function hostRow(host: string, fields: Partial<Omit<HostRow, 'host'>> = {}): HostRow {
  return { host, site: direct, added: [], removed: [], changed: [], becameNotApplicable: [], bytes: 0, ...fields };
}

/** An expected deployment row: all counts 0 unless `fields` says so. */
function deploymentRow(deployment: string, hosts: string[], fields: Partial<Omit<DeploymentRow, 'deployment' | 'hosts'>>): DeploymentRow {
  return { deployment, hosts, added: 0, removed: 0, changed: 0, becameNotApplicable: 0, bytes: 0, ...fields };
}

const editor241 = action('editor', 'text-editor', '2.4.1');
const editor250 = action('editor', 'text-editor', '2.5.0');
const runtime = action('editor', 'runtime-lib', '1.2.0');
const noDisk = 'disk free 1.2 GiB < 2 GiB (condition enough-disk)';
const diskSpec = { minDiskFree: 2 * 1024 * MiB };
const editorHolds = action('editor', 'text-editor', '2.4.1', {
  conditions: [{ name: 'enough-disk', verdict: 'holds', spec: diskSpec }],
});
const editorFails = action('editor', 'text-editor', '2.4.1', {
  status: 'not-applicable',
  reason: noDisk,
  conditions: [{ name: 'enough-disk', verdict: 'fails', reason: noDisk, spec: diskSpec }],
});
const editorUninstall = action('editor', 'text-editor', '2.4.1', { op: 'uninstall' });
const editor250After = action('editor', 'text-editor', '2.5.0', { blockedBy: [runtime.id] });
const editor250Waiting = action('editor', 'text-editor', '2.5.0', { status: 'waiting', reason: 'rollout wave 2 of 3' });
const w = (day: number) => ({ start: `2026-12-0${day}T13:00:00Z`, end: `2026-12-0${day}T19:00:00Z` });
const editorWindow = action('editor', 'text-editor', '2.4.1', { distribute: { multicast: false, wake: false, windows: [w(1)] } });
const editorWindows = action('editor', 'text-editor', '2.4.1', {
  distribute: { multicast: false, wake: false, windows: [w(2), w(3)], segmentSize: 4 * MiB },
});

interface Case {
  readonly name: string;
  readonly base: FleetPlans;
  readonly head: FleetPlans;
  readonly want: FleetDiff;
}

const cases: Case[] = [
  {
    name: 'nothing changes',
    base: fleet(plan('clt1', [editor241]), plan('clt2', [])),
    head: fleet(plan('clt1', [editor241]), plan('clt2', [])),
    want: { hostCount: 2, hosts: [], deployments: [], sites: [], totals: zeroTotals },
  },
  {
    name: 'an install is added on one host',
    base: fleet(plan('clt1', []), plan('clt2', [])),
    head: fleet(plan('clt1', [editor241]), plan('clt2', [])),
    want: {
      hostCount: 2,
      hosts: [hostRow('clt1', { added: [s(editor241)], bytes: MiB })],
      deployments: [deploymentRow('editor', ['clt1'], { added: 1, bytes: MiB })],
      sites: [{ site: direct, hostCount: 2, hosts: ['clt1'], bytes: MiB, distinctBytes: MiB }],
      totals: { ...zeroTotals, hosts: 1, added: 1, bytes: MiB },
    },
  },
  {
    name: 'a new version is one changed action, and its artifact is transferred',
    base: fleet(plan('clt1', [editor241])),
    head: fleet(plan('clt1', [editor250])),
    want: {
      hostCount: 1,
      hosts: [
        hostRow('clt1', {
          changed: [{ before: s(editor241), after: s(editor250), changes: [{ field: 'version', before: '2.4.1', after: '2.5.0' }] }],
          bytes: MiB,
        }),
      ],
      deployments: [deploymentRow('editor', ['clt1'], { changed: 1, bytes: MiB })],
      sites: [{ site: direct, hostCount: 1, hosts: ['clt1'], bytes: MiB, distinctBytes: MiB }],
      totals: { ...zeroTotals, hosts: 1, changed: 1, bytes: MiB },
    },
  },
  {
    name: 'a host that becomes not-applicable says why, and transfers nothing',
    base: fleet(plan('clt1', [editorHolds])),
    head: fleet(plan('clt1', [editorFails])),
    want: {
      hostCount: 1,
      hosts: [
        hostRow('clt1', {
          changed: [
            {
              before: s(editorHolds),
              after: s(editorFails),
              changes: [
                { field: 'status', before: 'planned', after: 'not-applicable' },
                { field: 'reason', before: 'none', after: noDisk },
                { field: 'conditions', before: 'enough-disk holds', after: 'enough-disk fails' },
              ],
            },
          ],
          becameNotApplicable: [s(editorFails)],
        }),
      ],
      deployments: [deploymentRow('editor', ['clt1'], { changed: 1, becameNotApplicable: 1 })],
      sites: [{ site: direct, hostCount: 1, hosts: ['clt1'], bytes: 0, distinctBytes: 0 }],
      totals: { ...zeroTotals, hosts: 1, changed: 1, becameNotApplicable: 1 },
    },
  },
  {
    name: 'an install turned into an uninstall is one removed and one added action',
    base: fleet(plan('clt1', [editor241])),
    head: fleet(plan('clt1', [editorUninstall])),
    want: {
      hostCount: 1,
      hosts: [hostRow('clt1', { added: [s(editorUninstall)], removed: [s(editor241)] })],
      deployments: [deploymentRow('editor', ['clt1'], { added: 1, removed: 1 })],
      sites: [{ site: direct, hostCount: 1, hosts: ['clt1'], bytes: 0, distinctBytes: 0 }],
      totals: { ...zeroTotals, hosts: 1, added: 1, removed: 1 },
    },
  },
  {
    name: 'hosts behind a relay: bytes per host and each artifact once from the controller',
    base: fleet(plan('clt3', []), plan('clt2', [], 'osaka'), plan('clt1', [runtime], 'osaka'), plan('clt4', [])),
    head: fleet(plan('clt4', []), plan('clt3', [editor250Waiting]), plan('clt2', [editor250After], 'osaka'), plan('clt1', [runtime, editor250After], 'osaka')),
    want: {
      hostCount: 4,
      hosts: [
        hostRow('clt1', { site: osaka, added: [s(editor250After)], bytes: MiB }),
        hostRow('clt2', { site: osaka, added: [s(editor250After)], bytes: MiB }),
        hostRow('clt3', { added: [s(editor250Waiting)], bytes: MiB }),
      ],
      deployments: [deploymentRow('editor', ['clt1', 'clt2', 'clt3'], { added: 3, bytes: 3 * MiB })],
      sites: [
        { site: osaka, hostCount: 2, hosts: ['clt1', 'clt2'], bytes: 2 * MiB, distinctBytes: MiB },
        { site: direct, hostCount: 2, hosts: ['clt3'], bytes: MiB, distinctBytes: MiB },
      ],
      totals: { ...zeroTotals, hosts: 3, added: 3, bytes: 3 * MiB },
    },
  },
  {
    name: 'new windows and segments are named, and the same artifact is not sent twice',
    base: fleet(plan('clt1', [editorWindow])),
    head: fleet(plan('clt1', [editorWindows])),
    want: {
      hostCount: 1,
      hosts: [
        hostRow('clt1', {
          changed: [
            {
              before: s(editorWindow),
              after: s(editorWindows),
              changes: [
                { field: 'distributeWindows', before: '2026-12-01T13:00:00Z – 2026-12-01T19:00:00Z', after: '2026-12-02T13:00:00Z – 2026-12-02T19:00:00Z (+1 more)' },
                { field: 'transfer', before: 'whole file, unicast', after: 'segments of 4 MiB, unicast' },
              ],
            },
          ],
        }),
      ],
      deployments: [deploymentRow('editor', ['clt1'], { changed: 1 })],
      sites: [{ site: direct, hostCount: 1, hosts: ['clt1'], bytes: 0, distinctBytes: 0 }],
      totals: { ...zeroTotals, hosts: 1, changed: 1 },
    },
  },
  {
    name: 'a host moved behind a relay changes its content sources only',
    base: fleet(plan('clt1', [editor241])),
    head: fleet(plan('clt1', [editor241], 'osaka')),
    want: {
      hostCount: 1,
      hosts: [
        hostRow('clt1', {
          site: osaka,
          sources: { before: 'controller', after: 'relay osaka, controller' },
        }),
      ],
      deployments: [],
      sites: [{ site: osaka, hostCount: 1, hosts: ['clt1'], bytes: 0, distinctBytes: 0 }],
      totals: { ...zeroTotals, hosts: 1 },
    },
  },
  {
    name: 'a host planned only at head has every action added',
    base: fleet(),
    head: fleet(plan('new1', [action('tools', 'build-tools', '1.4.0', { artifact: { sha256: sha('b'), size: 2048 } })])),
    want: {
      hostCount: 1,
      hosts: [
        hostRow('new1', {
          added: [s(action('tools', 'build-tools', '1.4.0', { artifact: { sha256: sha('b'), size: 2048 } }))],
          bytes: 2048,
        }),
      ],
      deployments: [deploymentRow('tools', ['new1'], { added: 1, bytes: 2048 })],
      sites: [{ site: direct, hostCount: 1, hosts: ['new1'], bytes: 2048, distinctBytes: 2048 }],
      totals: { ...zeroTotals, hosts: 1, added: 1, bytes: 2048 },
    },
  },
];

describe('diffFleetPlans', () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(diffFleetPlans(c.base, c.head)).to.deep.equal(c.want);
    });
  }

  it('does not depend on the order of hosts or actions', () => {
    for (const c of cases) {
      const reversed = (f: FleetPlans): FleetPlans => ({
        plans: new Map([...f.plans].reverse().map(([h, p]) => [h, { ...p, actions: [...p.actions].reverse() }])),
      });
      expect(diffFleetPlans(reversed(c.base), reversed(c.head)), c.name).to.deep.equal(c.want);
    }
  });
});
