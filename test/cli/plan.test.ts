import { expect } from 'chai';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { repoRoot, runFerry } from '../support/ferry.js';

// Run `npx tsc -p .` first: these tests run the built `ferry`, as a user does.
const fixture = join(repoRoot, 'test/fixtures/plan');
const inventory = join(fixture, 'inventory.json');
const now = ['--now', '2026-12-01T00:00:00Z'];
const identity = ['-c', 'user.name=Ferry Test', '-c', 'user.email=test@ferry.invalid', '-c', 'commit.gpgsign=false'];

/** `[{id, deployment, package, version, op, status, blockedBy, reason}]`, spelled out. */
function act(deployment: string, pkg: string, version: string, status: string, blockedBy: string[] = [], reason: string | null = null) {
  return { id: `${deployment}/${pkg}@${version}/install`, deployment, package: pkg, version, op: 'install', status, blockedBy, reason };
}

describe('ferry plan', function () {
  this.timeout(60_000);
  let repo: string;
  let dir: string;
  let git: SimpleGit;
  let mainCommit: string;

  before(async () => {
    repo = await mkdtemp(join(tmpdir(), 'ferry-plan-'));
    dir = join(repo, 'manifests');
    git = simpleGit(repo);
    await git.raw(['init', '--quiet', '--initial-branch=main']);
    await cp(join(fixture, 'manifests'), dir, { recursive: true });
    await git.raw(['add', '-A']);
    await git.raw([...identity, 'commit', '--quiet', '-m', 'the fleet']);
    mainCommit = (await git.raw(['rev-parse', 'HEAD'])).trim();
    // A branch whose manifests do not validate.
    await git.raw(['checkout', '--quiet', '-b', 'broken']);
    await writeFile(join(dir, 'deployments/vpn.yaml'), (await readFile(join(dir, 'deployments/vpn.yaml'), 'utf8')).replace('3.1.0', '9.9.9'));
    await git.raw([...identity, 'commit', '--quiet', '-am', 'a version that does not exist']);
    // The pull request: text-editor 2.5.0, and clt4 joins the editor's targets.
    await git.raw(['checkout', '--quiet', '-b', 'editor-2-5', 'main']);
    const editor = await readFile(join(dir, 'deployments/editor.yaml'), 'utf8');
    await writeFile(join(dir, 'deployments/editor.yaml'), editor.replace('"2.4.1"', '"2.5.0"').replace('{groups: [project-a]}', '{groups: [project-a], hosts: [clt4]}'));
    await git.raw([...identity, 'commit', '--quiet', '-am', 'text-editor 2.5.0, also on clt4']);
  });
  after(() => rm(repo, { recursive: true, force: true }));

  it('prints every host plan as JSON with --format json', async () => {
    const r = await runFerry(['plan', join(fixture, 'manifests'), '--inventory', inventory, '--format', 'json', ...now]);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      plans: [
        { host: 'clt1', actions: [act('editor', 'runtime-lib', '1.2.0', 'planned'), act('editor', 'text-editor', '2.4.1', 'planned', ['editor/runtime-lib@1.2.0/install'])] },
        { host: 'clt2', actions: [act('editor', 'runtime-lib', '1.2.0', 'planned'), act('editor', 'text-editor', '2.4.1', 'planned', ['editor/runtime-lib@1.2.0/install'])] },
        { host: 'clt3', actions: [act('editor', 'runtime-lib', '1.2.0', 'planned'), act('editor', 'text-editor', '2.4.1', 'planned', ['editor/runtime-lib@1.2.0/install'])] },
        { host: 'clt4', actions: [act('vpn', 'vpn-client', '3.1.0', 'planned')] },
        { host: 'clt5', actions: [act('vpn', 'vpn-client', '3.1.0', 'planned')] },
      ],
    });
  });

  const inRepo = (...args: string[]) => runFerry(['plan', dir, '--inventory', inventory, ...now, ...args]);
  /** Asserts a whole run: its exit code and every line of stdout and stderr. */
  const expectRun = (r: { code: number | null; stdout: string; stderr: string }, code: number, stdout: string[], stderr: string[] = []) =>
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).to.deep.equal({ code, stdout: stdout.join('\n'), stderr: stderr.join('\n') });

  it('--base main: the text diff names exactly the hosts that change', async () => {
    const r = await inRepo('--base', 'main');
    expectRun(r, 0, [
      `Plan changes from main@sha1:${mainCommit} to worktree: 4 of 5 hosts change: 2 added, 0 removed, 3 changed actions; 6.5 MiB to transfer`,
      '',
      'Deployments:',
      '  DEPLOYMENT  HOSTS  ADDED  REMOVED  CHANGED  NOT-APPLICABLE  TO TRANSFER',
      '  editor          4      2        0        3               1      6.5 MiB',
      '',
      'Relays/sites:',
      '  SITE                 HOSTS AFFECTED  TO HOSTS  FROM CONTROLLER',
      '  osaka                        2 of 2     3 MiB          1.5 MiB',
      '  controller (direct)          2 of 3   3.5 MiB          3.5 MiB',
      '',
      'clt1  (via relay osaka): +0 -0 ~1, 1.5 MiB to transfer',
      '  ~  install text-editor@2.4.1 → 2.5.0  editor  version 2.4.1 → 2.5.0',
      '',
      'clt2  (via relay osaka): +0 -0 ~1, 1.5 MiB to transfer',
      '  ~  install text-editor@2.4.1 → 2.5.0  editor  version 2.4.1 → 2.5.0',
      '',
      'clt3  (direct): +0 -0 ~1, 1.5 MiB to transfer',
      '  ~  install text-editor@2.4.1 → 2.5.0  editor  version 2.4.1 → 2.5.0',
      '',
      'clt4  (direct): +2 -0 ~0, 2 MiB to transfer',
      '  +  install runtime-lib@1.2.0  editor  planned',
      '  +  install text-editor@2.5.0  editor  not-applicable: disk free 1.1 GiB < 2 GiB (condition enough-disk)',
      '  ! becomes not-applicable: install text-editor@2.5.0 (editor): disk free 1.1 GiB < 2 GiB (condition enough-disk)',
      '',
    ]);
  });

  it('--base main --format json: the same hosts, counts and bytes', async () => {
    const r = await inRepo('--base', 'main', '--format', 'json');
    expect(r.code).to.equal(0);
    const doc = JSON.parse(r.stdout) as { base: string; head: string; totals: unknown; hosts: { host: string }[]; sites: unknown[] };
    expect(doc.base).to.equal(`main@sha1:${mainCommit}`);
    expect(doc.head).to.equal('worktree');
    expect(doc.hosts.map((h) => h.host)).to.deep.equal(['clt1', 'clt2', 'clt3', 'clt4']);
    expect(doc.totals).to.deep.equal({ hosts: 4, added: 2, removed: 0, changed: 3, becameNotApplicable: 1, bytes: 6.5 * 1_048_576 });
    expect(doc.sites).to.deep.equal([
      { site: 'osaka', relay: 'osaka', hostCount: 2, hosts: ['clt1', 'clt2'], bytes: 3 * 1_048_576, distinctBytes: 1.5 * 1_048_576 },
      { site: 'controller (direct)', relay: null, hostCount: 3, hosts: ['clt3', 'clt4'], bytes: 3.5 * 1_048_576, distinctBytes: 3.5 * 1_048_576 },
    ]);
  });

  it('--base main --head editor-2-5 --format markdown: the pull-request comment', async () => {
    const r = await inRepo('--base', 'main', '--head', 'editor-2-5', '--format', 'markdown');
    const head = (await git.raw(['rev-parse', 'editor-2-5'])).trim();
    expectRun(r, 0, [
      `### Ferry plan: \`main@sha1:${mainCommit}\` → \`editor-2-5@sha1:${head}\``,
      '',
      '**4 of 5 hosts change: 2 added, 0 removed, 3 changed actions; 6.5 MiB to transfer.**',
      '',
      '| Deployment | Hosts | Added | Removed | Changed | Newly not applicable | To transfer |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      '| `editor` | 4 | 2 | 0 | 3 | 1 | 6.5 MiB |',
      '',
      '| Relay / site | Hosts affected | To hosts | From controller |',
      '| --- | ---: | ---: | ---: |',
      '| relay `osaka` | 2 of 2 | 3 MiB | 1.5 MiB |',
      '| controller (direct) | 2 of 3 | 3.5 MiB | 3.5 MiB |',
      '',
      '> [!WARNING]',
      '> **1 host becomes not-applicable** for an action:',
      '> - `clt4`: install text-editor@2.5.0 (`editor`): disk free 1.1 GiB &lt; 2 GiB (condition enough-disk)',
      '',
      '#### Hosts',
      '',
      '<details><summary><code>clt1</code>, <code>clt2</code>, <code>clt3</code> (3 hosts, the same change): +0 −0 ~1 · 1.5 MiB</summary>',
      '',
      '| | Action | Deployment | Status | Details |',
      '| --- | --- | --- | --- | --- |',
      '| ~ | install text-editor@2.4.1 → 2.5.0 | `editor` | planned |  |',
      '',
      '</details>',
      '',
      '<details><summary><code>clt4</code>: +2 −0 ~0 · 2 MiB · ⚠ not-applicable</summary>',
      '',
      '| | Action | Deployment | Status | Details |',
      '| --- | --- | --- | --- | --- |',
      '| + | install runtime-lib@1.2.0 | `editor` | planned |  |',
      '| + | install text-editor@2.5.0 | `editor` | not-applicable | disk free 1.1 GiB &lt; 2 GiB (condition enough-disk); after editor/runtime-lib@1.2.0/install |',
      '',
      '</details>',
      '',
    ]);
  });

  const runs: { name: string; args: string[]; code: number; stdout: string[]; stderr: string[] }[] = [
    {
      name: '--host limits the plan to one host',
      args: ['--host', 'clt4'],
      code: 0,
      stdout: [
        'clt4',
        '  install  runtime-lib@1.2.0  editor  planned',
        '  install  text-editor@2.5.0  editor  not-applicable  disk free 1.1 GiB < 2 GiB (condition enough-disk)',
        '      after: editor/runtime-lib@1.2.0/install',
        '  install  vpn-client@3.1.0   vpn     planned',
        '',
        '1 host, 3 actions: 2 planned, 1 not-applicable',
        '',
      ],
      stderr: [],
    },
    {
      name: 'exits 1 with the problems, prefixed by the revision, when the manifests at a revision are invalid',
      args: ['--base', 'broken'],
      code: 1,
      stdout: [],
      stderr: [
        'base broken: deployments/vpn.yaml:6:35: error: spec.packages[0].version: package vpn-client has no version "9.9.9" (known: 3.1.0)',
        'ferry: the manifests at base (broken) are invalid; fix the errors above, then run ferry plan again',
        '',
      ],
    },
  ];
  for (const c of runs) {
    it(c.name, async () => expectRun(await inRepo(...c.args), c.code, c.stdout, c.stderr));
  }

  const usageErrors = [
    {
      name: 'an unknown revision',
      args: () => ['plan', dir, '--inventory', inventory, '--base', 'no-such-branch'],
      stderr: "ferry: --base no-such-branch: unknown revision 'no-such-branch' in the repository at",
    },
    { name: 'a missing inventory file', args: () => ['plan', dir, '--inventory', join(repo, 'nope.json')], stderr: "nope.json': no such file; pass --inventory" },
    { name: 'no --inventory', args: () => ['plan', dir], stderr: "required option '--inventory <file>' not specified" },
    { name: 'markdown without --base', args: () => ['plan', dir, '--inventory', inventory, '--format', 'markdown'], stderr: 'needs --base REV' },
    { name: 'an unknown host', args: () => ['plan', dir, '--inventory', inventory, '--host', 'clt9'], stderr: 'ferry: --host clt9: no such host in' },
    { name: 'a --now that is not RFC 3339', args: () => ['plan', dir, '--inventory', inventory, '--now', 'tomorrow'], stderr: "ferry: --now 'tomorrow' is not an RFC 3339 time" },
  ];
  for (const c of usageErrors) {
    it(`exits 2 on ${c.name}`, async () => {
      const r = await runFerry(c.args());
      expect(r.code).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.contain(c.stderr);
    });
  }

  it('exits 2 on a malformed inventory, naming every bad entry and field', async () => {
    const bad = join(repo, 'bad-inventory.json');
    await writeFile(bad, JSON.stringify([{ host: 'a', facts: [], labels: {} }, { host: 'a', facts: {}, labels: {}, software: [{ name: 'x' }] }, 3]));
    const r = await runFerry(['plan', dir, '--inventory', bad]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal(
      [
        `ferry: the inventory file '${bad}' is malformed; fix these and run again:`,
        `  ${bad}: [0].software: is required`,
        `  ${bad}: [0].facts: must be object`,
        `  ${bad}: [1].host: 'a' appears again (first at [0]); keep one document per host`,
        `  ${bad}: [1].software[0].version: is required`,
        `  ${bad}: [1].software[0].source: is required`,
        `  ${bad}: [2]: must be an object {host, facts, labels, software}`,
        '',
      ].join('\n'),
    );
  });
});
