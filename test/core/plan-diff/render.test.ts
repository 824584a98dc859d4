import { expect } from 'chai';
import { diffFleetPlans, renderDiffJson, renderDiffMarkdown, renderDiffText, renderPlansJson, renderPlansText } from '../../../core/plan-diff/index.js';
import { action, fleet, plan } from './fixtures.js';

const runtime = action('editor', 'runtime-lib', '1.2.0');
const e241 = action('editor', 'text-editor', '2.4.1');
const e250 = action('editor', 'text-editor', '2.5.0', { blockedBy: [runtime.id] });
const noDisk = 'disk free 1.2 GiB < 2 GiB (condition enough-disk)';
const na = action('editor', 'text-editor', '2.5.0', { status: 'not-applicable', reason: noDisk });
const vpn = action('vpn', 'vpn-client', '3.1.0', { status: 'waiting', reason: 'rollout wave 2 of 3' });
const base = fleet(plan('clt1', [runtime, e241], 'osaka'), plan('clt2', [e241], 'osaka'), plan('clt3', [e241]), plan('clt4', [vpn]));
const head = fleet(plan('clt1', [runtime, e250], 'osaka'), plan('clt2', [e250], 'osaka'), plan('clt3', [na]), plan('clt4', []));
const revisions = { base: 'main@sha1:0123456789abcdef0123456789abcdef01234567', head: 'worktree' };
const diff = diffFleetPlans(base, head);
const lines = (...l: string[]): string => `${l.join('\n')}\n`;

/** The markdown diff down to its first host: the same whether or not the size limit cuts what follows. */
const markdownHead = [
  '### Ferry plan: `main@sha1:0123456789abcdef0123456789abcdef01234567` → `worktree`',
  '',
  '**4 of 4 hosts change: 0 added, 1 removed, 3 changed actions; 2 MiB to transfer.**',
  '',
  '| Deployment | Hosts | Added | Removed | Changed | Newly not applicable | To transfer |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  '| `editor` | 3 | 0 | 0 | 3 | 1 | 2 MiB |',
  '| `vpn` | 1 | 0 | 1 | 0 | 0 | 0 B |',
  '',
  '| Relay / site | Hosts affected | To hosts | From controller |',
  '| --- | ---: | ---: | ---: |',
  '| relay `osaka` | 2 of 2 | 2 MiB | 1 MiB |',
  '| controller (direct) | 2 of 2 | 0 B | 0 B |',
  '',
  '> [!WARNING]',
  '> **1 host becomes not-applicable** for an action:',
  '> - `clt3`: install text-editor@2.5.0 (`editor`): disk free 1.2 GiB &lt; 2 GiB (condition enough-disk)',
  '',
  '#### Hosts',
  '',
  '<details><summary><code>clt1</code>, <code>clt2</code> (2 hosts, the same change): +0 −0 ~1 · 1 MiB</summary>',
  '',
  '| | Action | Deployment | Status | Details |',
  '| --- | --- | --- | --- | --- |',
  '| ~ | install text-editor@2.4.1 → 2.5.0 | `editor` | planned | after none → editor/runtime-lib@1.2.0/install |',
  '',
  '</details>',
  '',
];

const cases: { name: string; render: () => string; want: string }[] = [
  {
    name: 'plans as text: aligned actions, blockedBy, hosts without actions, a summary',
    render: () => renderPlansText([...head.plans.values()].reverse()),
    want: lines(
      'clt1  (via relay osaka)',
      '  install  runtime-lib@1.2.0  editor  planned',
      '  install  text-editor@2.5.0  editor  planned',
      '      after: editor/runtime-lib@1.2.0/install',
      'clt2  (via relay osaka)',
      '  install  text-editor@2.5.0  editor  planned',
      '      after: editor/runtime-lib@1.2.0/install',
      'clt3',
      `  install  text-editor@2.5.0  editor  not-applicable  ${noDisk}`,
      'clt4',
      '  no actions',
      '',
      '4 hosts (1 without actions), 4 actions: 3 planned, 1 not-applicable',
    ),
  },
  {
    name: 'plans as JSON: hosts sorted, the eight action fields in a fixed order',
    render: () => renderPlansJson([plan('clt4', [vpn]), plan('clt3', [])]),
    want: lines(
      '{',
      '  "plans": [',
      '    {',
      '      "host": "clt3",',
      '      "actions": []',
      '    },',
      '    {',
      '      "host": "clt4",',
      '      "actions": [',
      '        {',
      '          "id": "vpn/vpn-client@3.1.0/install",',
      '          "deployment": "vpn",',
      '          "package": "vpn-client",',
      '          "version": "3.1.0",',
      '          "op": "install",',
      '          "status": "waiting",',
      '          "blockedBy": [],',
      '          "reason": "rollout wave 2 of 3"',
      '        }',
      '      ]',
      '    }',
      '  ]',
      '}',
    ),
  },
  {
    name: 'the diff as text',
    render: () => renderDiffText(diff, revisions),
    want: lines(
      'Plan changes from main@sha1:0123456789abcdef0123456789abcdef01234567 to worktree: 4 of 4 hosts change: 0 added, 1 removed, 3 changed actions; 2 MiB to transfer',
      '',
      'Deployments:',
      '  DEPLOYMENT  HOSTS  ADDED  REMOVED  CHANGED  NOT-APPLICABLE  TO TRANSFER',
      '  editor          3      0        0        3               1        2 MiB',
      '  vpn             1      0        1        0               0          0 B',
      '',
      'Relays/sites:',
      '  SITE                 HOSTS AFFECTED  TO HOSTS  FROM CONTROLLER',
      '  osaka                        2 of 2     2 MiB            1 MiB',
      '  controller (direct)          2 of 2       0 B              0 B',
      '',
      'clt1  (via relay osaka): +0 -0 ~1, 1 MiB to transfer',
      '  ~  install text-editor@2.4.1 → 2.5.0  editor  version 2.4.1 → 2.5.0; after none → editor/runtime-lib@1.2.0/install',
      '',
      'clt2  (via relay osaka): +0 -0 ~1, 1 MiB to transfer',
      '  ~  install text-editor@2.4.1 → 2.5.0  editor  version 2.4.1 → 2.5.0; after none → editor/runtime-lib@1.2.0/install',
      '',
      'clt3  (direct): +0 -0 ~1, 0 B to transfer',
      `  ~  install text-editor@2.4.1 → 2.5.0  editor  version 2.4.1 → 2.5.0; status planned → not-applicable; reason none → ${noDisk}`,
      `  ! becomes not-applicable: install text-editor@2.5.0 (editor): ${noDisk}`,
      '',
      'clt4  (direct): +0 -1 ~0, 0 B to transfer',
      '  -  install vpn-client@3.1.0  vpn  no longer planned',
    ),
  },
  {
    name: 'the diff as markdown: summary tables, the not-applicable call-out, identical hosts folded together',
    render: () => renderDiffMarkdown(diff, revisions),
    want: lines(
      ...markdownHead,
      '<details><summary><code>clt3</code>: +0 −0 ~1 · 0 B · ⚠ not-applicable</summary>',
      '',
      '| | Action | Deployment | Status | Details |',
      '| --- | --- | --- | --- | --- |',
      '| ~ | install text-editor@2.4.1 → 2.5.0 | `editor` | planned → not-applicable | reason none → disk free 1.2 GiB &lt; 2 GiB (condition enough-disk) |',
      '',
      '</details>',
      '',
      '<details><summary><code>clt4</code>: +0 −1 ~0 · 0 B</summary>',
      '',
      '| | Action | Deployment | Status | Details |',
      '| --- | --- | --- | --- | --- |',
      '| − | install vpn-client@3.1.0 | `vpn` | waiting | no longer planned |',
      '',
      '</details>',
    ),
  },
  {
    name: 'an empty diff in markdown is one line under the title',
    render: () => renderDiffMarkdown(diffFleetPlans(head, head), revisions),
    want: lines('### Ferry plan: `main@sha1:0123456789abcdef0123456789abcdef01234567` → `worktree`', '', "**No host's plan changes (4 hosts planned).**"),
  },
  {
    name: 'markdown stays under its size limit and says how many hosts it left out',
    render: () => renderDiffMarkdown(diff, revisions, { maxLength: 1500 }),
    want: lines(...markdownHead, '… and 2 more hosts not shown here; run `ferry plan --base` locally to see every host.'),
  },
];

describe('plan and diff renderers', () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(c.render()).to.equal(c.want);
    });
  }

  it('the diff as JSON keeps a fixed key order and every count', () => {
    const doc = JSON.parse(renderDiffJson(diff, revisions)) as Record<string, unknown>;
    expect(Object.keys(doc)).to.deep.equal(['base', 'head', 'hostCount', 'totals', 'deployments', 'sites', 'hosts']);
    expect(doc.totals).to.deep.equal({ hosts: 4, added: 0, removed: 1, changed: 3, becameNotApplicable: 1, bytes: 2 * 1_048_576 });
    const hosts = doc.hosts as { host: string; becameNotApplicable: string[]; removed: unknown[] }[];
    expect(hosts.map((h) => h.host)).to.deep.equal(['clt1', 'clt2', 'clt3', 'clt4']);
    expect(hosts[2]?.becameNotApplicable).to.deep.equal(['editor/text-editor@2.5.0/install']);
    expect(hosts[3]?.removed).to.deep.equal([
      {
        id: 'vpn/vpn-client@3.1.0/install',
        deployment: 'vpn',
        package: 'vpn-client',
        version: '3.1.0',
        op: 'install',
        status: 'waiting',
        blockedBy: [],
        reason: 'rollout wave 2 of 3',
        size: 1_048_576,
      },
    ]);
  });
});
