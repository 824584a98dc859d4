/** The reconciler with content ingestion, operator resumes over `spec.suspended`, and rollout self-suspension. */
import { expect } from 'chai';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ManifestFile } from '../../../core/manifest/types.js';
import type { Plan } from '../../../core/plan/types.js';
import { ContentIngester, DirectoryContentStore } from '../../../controller/content/index.js';
import { corePlanning } from '../../../controller/reconcile/core-planning.js';
import { Reconciler, unavailableContentKey } from '../../../controller/reconcile/reconciler.js';
import { openStore } from '../../../controller/store/index.js';
import type { Store } from '../../../controller/store/store.js';
import { FakeSource } from './fake-source.js';

const { privateKey } = generateKeyPairSync('ed25519');
const signingKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const logger = pino({ level: 'silent' });
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const clock = { now: () => new Date('2026-11-24T09:00:00Z') };

function pkg(name: string, body: string, source?: string): string {
  return [
    'apiVersion: ferry/v1',
    'kind: Package',
    `metadata: {name: ${name}}`,
    'spec:',
    '  version: "1.0.0"',
    `  artifact: {sha256: ${sha(body)}, size: ${Buffer.byteLength(body)}${source ? `, source: ${source}` : ''}}`,
    '  install: {command: [sh, install.sh]}',
    '  uninstall: {command: [sh, uninstall.sh]}',
    '---',
  ].join('\n');
}

function deployment(name: string, packages: string, extra = ''): string {
  return [
    'apiVersion: ferry/v1',
    'kind: Deployment',
    `metadata: {name: ${name}}`,
    'spec:',
    `  packages: [${packages}]`,
    '  targets: {groups: [lab]}',
    ...(extra ? [`  ${extra}`] : []),
    '---',
  ].join('\n');
}

const lab = (hosts: string[]) => `apiVersion: ferry/v1\nkind: Group\nmetadata: {name: lab}\nspec: {hosts: [${hosts.join(', ')}]}\n---\n`;
const files = (...docs: string[]): ManifestFile[] => [{ path: 'fleet.yaml', content: docs.join('\n') }];
/** The three packages of the content test's `apps` deployment, in both of its commits. */
const appPackages = [pkg('hello', 'hello', 'artifacts/hello.tar.gz'), pkg('tool', 'tool!'), pkg('bad', 'as built', 'artifacts/bad.tar.gz')];

describe('controller/reconcile content and overrides', function () {
  this.timeout(30_000);
  let dir: string;
  let store: Store;
  let source: FakeSource;
  let content: DirectoryContentStore;
  let reconciler: Reconciler;

  function make(): Reconciler {
    const r = new Reconciler({
      store,
      source,
      planning: corePlanning,
      signingKey,
      clock: { now: () => clock.now().getTime(), sleep: async () => {} },
      logger,
      content: new ContentIngester({ content, tempDir: join(dir, 'ingest') }),
    });
    r.start();
    return r;
  }
  const plan = async (host: string) => JSON.parse((await store.getPlan(host))!.signed!) as Plan;
  const actions = async (host: string) =>
    Object.fromEntries((await plan(host)).actions.map((a) => [a.id, { status: a.status, ...(a.reason !== undefined && { reason: a.reason }), suspended: a.suspended }]));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-reconcile-content-'));
    store = await openStore('sqlite::memory:');
    source = new FakeSource();
    content = new DirectoryContentStore(join(dir, 'content'));
    reconciler = make();
  });
  afterEach(async () => {
    await reconciler.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('ingests repository artifacts; blocks installs of missing or wrong content with the reason, until it is pushed', async () => {
    source.push(
      'main@sha1:c1',
      files(
        ...appPackages,
        pkg('old', 'old stuff'),
        lab(['h1']),
        deployment('apps', '{name: hello, version: "1.0.0"}, {name: tool, version: "1.0.0"}, {name: bad, version: "1.0.0"}'),
        deployment('cleanup', '{name: old, version: "1.0.0", state: absent}'),
      ),
      { 'artifacts/hello.tar.gz': 'hello', 'artifacts/bad.tar.gz': 'tampered' },
    );
    expect((await reconciler.reconcileNow())?.outcome).to.equal('applied');
    const toolReason = 'content unavailable: not in the content store; push it with `ferry package push FILE`';
    const badReason = `content unavailable: artifacts/bad.tar.gz has sha256 ${sha('tampered').slice(0, 12)}… but the manifest says ${sha('as built').slice(0, 12)}…`;
    expect(await actions('h1')).to.deep.equal({
      'apps/bad@1.0.0/install': { status: 'blocked', reason: badReason, suspended: false },
      'apps/hello@1.0.0/install': { status: 'planned', suspended: false },
      'apps/tool@1.0.0/install': { status: 'blocked', reason: toolReason, suspended: false },
      // An uninstall needs no content: never blocked for it.
      'cleanup/old@1.0.0/uninstall': { status: 'unknown', reason: 'no inventory reported yet; the agent checks whether old 1.0.0 is installed', suspended: false },
    });
    expect(await content.has(sha('hello'))).to.equal(true);
    const recorded = {
      revision: 'main@sha1:c1',
      unavailable: [
        { sha256: sha('as built'), packages: ['bad@1.0.0'], reason: badReason.replace('content unavailable: ', '') },
        { sha256: sha('old stuff'), packages: ['old@1.0.0'], reason: toolReason.replace('content unavailable: ', '') },
        { sha256: sha('tool!'), packages: ['tool@1.0.0'], reason: toolReason.replace('content unavailable: ', '') },
      ].sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1)),
    };
    expect(JSON.parse((await store.getMeta(unavailableContentKey))!)).to.deep.equal(recorded);
    expect(reconciler.unavailableContent()).to.deep.equal(recorded.unavailable);

    // Pushed later: the push triggers a pass, and the install is planned.
    const serial = (await store.getPlan('h1'))!.serial;
    await content.put([Buffer.from('tool!')], sha('tool!'));
    await reconciler.contentChanged(sha('tool!'));
    expect((await actions('h1'))['apps/tool@1.0.0/install']).to.deep.equal({ status: 'planned', suspended: false });
    expect((await store.getPlan('h1'))!.serial).to.equal(serial + 1);
    expect(reconciler.status().lastRun?.triggers).to.deep.equal([`content:${sha('tool!')}`]);
    // Content nobody missed does not cost a pass.
    const before = reconciler.status().lastRun?.startedAt;
    await reconciler.contentChanged(sha('unrelated'));
    expect(reconciler.status().lastRun?.startedAt).to.equal(before);

    // A commit that fixes the artifact in the repository makes it available.
    source.push('main@sha1:c2', files(...appPackages, lab(['h1']), deployment('apps', '{name: bad, version: "1.0.0"}')), {
      'artifacts/bad.tar.gz': 'as built',
    });
    await reconciler.reconcileNow();
    expect(await actions('h1')).to.deep.equal({ 'apps/bad@1.0.0/install': { status: 'planned', suspended: false } });
    expect(JSON.parse((await store.getMeta(unavailableContentKey))!)).to.deep.equal({ revision: 'main@sha1:c2', unavailable: [] });
  });

  it('an operator resume overrides spec.suspended; an operator suspend stops it again', async () => {
    await content.put([Buffer.from('hello')], sha('hello'));
    source.push('main@sha1:s1', files(pkg('hello', 'hello'), lab(['h1']), deployment('apps', '{name: hello, version: "1.0.0"}', 'suspended: true')));
    await reconciler.reconcileNow();
    expect(await actions('h1')).to.deep.equal({ 'apps/hello@1.0.0/install': { status: 'planned', suspended: true } });

    await store.setSuspended('apps', false, 'alice', clock.now());
    reconciler.overridesChanged();
    await reconciler.reconcileNow();
    expect(await actions('h1')).to.deep.equal({ 'apps/hello@1.0.0/install': { status: 'planned', suspended: false } });

    await store.setSuspended('apps', true, 'bob', clock.now());
    await reconciler.reconcileNow();
    expect(await actions('h1')).to.deep.equal({ 'apps/hello@1.0.0/install': { status: 'planned', suspended: true } });
  });

  it('records a rollout self-suspension as an override by ferry:rollout that outlives a restart; an operator resume clears it', async () => {
    await content.put([Buffer.from('hello')], sha('hello'));
    const hosts = ['h1', 'h2', 'h3', 'h4'];
    source.push(
      'main@sha1:r1',
      files(pkg('hello', 'hello'), lab(hosts), deployment('apps', '{name: hello, version: "1.0.0"}', 'rollout: {waves: ["50%", "100%"], maxFailures: 0}')),
    );
    await reconciler.reconcileNow();
    const id = 'apps/hello@1.0.0/install';
    const firstWave: string[] = [];
    for (const h of hosts) if ((await actions(h))[id]!.status === 'planned') firstWave.push(h);
    expect(firstWave).to.have.length(2);

    await store.ingestReports(firstWave[0]!, [{ id: 'r1', actionId: id, serial: 1, state: 'failed', at: clock.now().toISOString(), reason: 'exit 1' }], clock.now());
    await reconciler.reconcileNow('reports');
    const reason = '1 of 4 hosts failed, more than maxFailures 0';
    expect(await store.listOverrides()).to.deep.equal([{ deployment: 'apps', suspended: true, by: 'ferry:rollout', at: clock.now().toISOString(), reason, gitSuspended: false }]);
    for (const h of firstWave) expect((await actions(h))[id]!.suspended, h).to.equal(true);

    // A new leader has no rollout progress in memory: the recorded override keeps it suspended.
    await reconciler.stop();
    reconciler = make();
    await reconciler.reconcileNow();
    for (const h of hosts) expect((await actions(h))[id]!.suspended, h).to.equal(true);

    await store.setSuspended('apps', false, 'alice', clock.now());
    await reconciler.reconcileNow('overrides');
    await reconciler.reconcileNow('reports');
    expect(await store.listOverrides()).to.deep.equal([{ deployment: 'apps', suspended: false, by: 'alice', at: clock.now().toISOString() }]);
    for (const h of hosts) expect((await actions(h))[id]!.suspended, h).to.equal(false);
  });

  it('maxFailures counts failures of current plan actions only: a host that failed, left the targets and came back starts afresh', async () => {
    await content.put([Buffer.from('hello')], sha('hello'));
    const hosts = ['h1', 'h2', 'h3', 'h4'];
    const revision = (n: number, members: string[]) =>
      source.push(
        `main@sha1:r${n}`,
        files(pkg('hello', 'hello'), lab(members), deployment('apps', '{name: hello, version: "1.0.0"}', 'rollout: {waves: ["50%", "100%"], maxFailures: 1}')),
      );
    const id = 'apps/hello@1.0.0/install';
    const fail = async (host: string) => {
      const serial = (await store.getPlan(host))!.serial;
      await store.ingestReports(host, [{ id: `f-${host}-${serial}`, actionId: id, serial, state: 'failed', at: clock.now().toISOString(), reason: 'exit 1' }], clock.now());
      await reconciler.reconcileNow('reports');
    };
    // Hosts with an inventory are planned (an empty plan) when they leave the targets.
    for (const host of hosts) await store.putInventory({ host, facts: { os: { platform: 'linux' } }, labels: {}, software: [] }, clock.now());
    revision(1, hosts);
    await reconciler.reconcileNow();
    const firstWave: string[] = [];
    for (const h of hosts) if ((await actions(h))[id]!.status === 'planned') firstWave.push(h);
    expect(firstWave).to.have.length(2);
    const [left, stayed] = firstWave as [string, string];

    await fail(left); // 1 of 4: within maxFailures 1
    expect(await store.listOverrides()).to.deep.equal([]);
    revision(
      2,
      hosts.filter((h) => h !== left),
    );
    await reconciler.reconcileNow();
    expect(await actions(left)).to.deep.equal({});
    revision(3, hosts);
    await reconciler.reconcileNow();
    expect((await actions(left))[id]).to.deep.equal({ status: 'planned', suspended: false });

    await fail(stayed); // 1 of 4 again: the failure before `left` left is not this plan's
    expect(await store.listOverrides()).to.deep.equal([]);
    for (const h of hosts) expect((await actions(h))[id]!.suspended, h).to.equal(false);

    await fail(left); // now 2 of 4
    expect(await store.listOverrides()).to.deep.equal([
      { deployment: 'apps', suspended: true, by: 'ferry:rollout', at: clock.now().toISOString(), reason: '2 of 4 hosts failed, more than maxFailures 1', gitSuspended: false },
    ]);
  });

  it('resolves group membership of the planned revision once per pass, on first read', async () => {
    expect(reconciler.groups()).to.equal(undefined);
    await content.put([Buffer.from('hello')], sha('hello'));
    source.push(
      'main@sha1:g1',
      files(pkg('hello', 'hello'), lab(['h1', 'h2']), 'apiVersion: ferry/v1\nkind: Group\nmetadata: {name: linux}\nspec: {selector: {facts: {os.platform: linux}}}\n'),
    );
    await reconciler.reconcileNow();
    const first = reconciler.groups();
    expect(first).to.deep.equal(
      new Map([
        ['lab', new Set(['h1', 'h2'])],
        ['linux', new Set()],
      ]),
    );
    expect(reconciler.groups()).to.equal(first);
    await store.putInventory({ host: 'h9', facts: { os: { platform: 'linux' } }, labels: {}, software: [] }, clock.now());
    await reconciler.reconcileNow('inventory:h9');
    // Patched by the planner for h9 alone (its sets are VersionedSets): compared as plain sets.
    const plain = (groups: ReadonlyMap<string, ReadonlySet<string>> | undefined) => new Map([...(groups ?? [])].map(([name, hosts]) => [name, new Set(hosts)]));
    expect(plain(reconciler.groups())).to.deep.equal(
      new Map([
        ['lab', new Set(['h1', 'h2'])],
        ['linux', new Set(['h9'])],
      ]),
    );
  });
});
