/**
 * `ferry audit HOST` against a real controller and a real agent (`ferry agent --once`): every
 * install and uninstall back to the commit, the artifact digest and the publisher key the host
 * verified, as text and as JSON; an unknown host exits 1.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { TrustFleet } from '../e2e/trust-fleet.js';

describe('ferry audit', function () {
  this.timeout(180_000);
  let fleet: TrustFleet;
  let acme: { privateKey: string; publicKey: string; fingerprint: string };
  let enrollToken: string;
  const commits: string[] = [];
  const shas: Record<string, string> = {};
  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  const deployment = (packages: string) =>
    ['apiVersion: ferry/v1', 'kind: Deployment', 'metadata: {name: apps}', 'spec:', `  packages: [${packages}]`, '  targets: {hosts: [ws-1]}', '  onLeave: uninstall', ''].join(
      '\n',
    );

  async function agentOnce(): Promise<void> {
    // biome-ignore format: one flag and its value a line
    await fleet.ferryOk([
      'agent', '--once',
      '--server', fleet.url,
      '--enroll-token', enrollToken,
      '--name', 'ws-1',
      '--data', fleet.dataDir('ws-1'),
      '--install-root', fleet.installRoot('ws-1'),
      '--trust-publisher', acme.publicKey,
      '--no-os-packages',
    ]);
  }

  before(async () => {
    fleet = await TrustFleet.create('ferry-audit-');
    acme = await fleet.generateKey('acme');
    let manifests = '';
    for (const [name, version] of [
      ['editor', '1.0.0'],
      ['editor', '1.1.0'],
      ['viewer', '1.0.0'],
    ] as const) {
      const m = await fleet.buildPackage(name, version, { sign: acme.privateKey });
      shas[`${name}@${version}`] = /sha256: ([0-9a-f]{64})/.exec(m)![1]!;
      manifests += m;
    }
    await writeFile(join(fleet.admin, 'packages.yaml'), manifests);
    const pem = (await readFile(acme.publicKey, 'utf8')).trim().split('\n');
    // biome-ignore format: a manifest
    await writeFile(join(fleet.admin, 'trust.yaml'), ['apiVersion: ferry/v1', 'kind: TrustPolicy', 'metadata: {name: acme}', 'spec:', '  publishers:', '    - publicKey: |', ...pem.map((l) => `        ${l}`), '      packages: ["*"]', ''].join('\n'));
    await writeFile(join(fleet.admin, 'deployment.yaml'), deployment('{name: editor, version: "1.0.0"}, {name: viewer, version: "1.0.0"}'));
    commits.push(await fleet.commitAndPush('editor and viewer'));
    await fleet.startController();
    enrollToken = (await fleet.ferryOk(['token', 'create', '--ttl', '1h'])).trim();
    await agentOnce();
    await writeFile(join(fleet.admin, 'deployment.yaml'), deployment('{name: editor, version: "1.1.0"}'));
    commits.push(await fleet.commitAndPush('editor 1.1.0, viewer retired'));
    await fleet.refresh();
    await agentOnce();
  });

  after(async () => {
    await fleet?.close(failed);
  });

  it('--json: each install back to its commit, digest and the publisher key the host verified; the uninstall too', async () => {
    const out = JSON.parse(await fleet.ferryOk(['audit', 'ws-1', '--json'])) as { host: string; entries: Record<string, unknown>[] };
    const view = out.entries.map(({ at: _at, serial: _serial, ...e }) => e);
    const rev = (i: number) => `main@sha1:${commits[i]}`;
    expect(out.host).to.equal('ws-1');
    // biome-ignore format: a table of entries
    expect(view.map((e) => `${e['op']} ${e['package']}@${e['version']}`).sort()).to.deep.equal(['install editor@1.0.0', 'install editor@1.1.0', 'install viewer@1.0.0', 'uninstall viewer@1.0.0']);
    const byAction = Object.fromEntries(view.map((e) => [`${e['op']} ${e['package']}@${e['version']}`, e]));
    expect(byAction['install editor@1.0.0']).to.deep.equal({
      op: 'install',
      actionId: 'apps/editor@1.0.0/install',
      deployment: 'apps',
      package: 'editor',
      version: '1.0.0',
      revision: rev(0),
      sha256: shas['editor@1.0.0'],
      publisher: acme.fingerprint,
      evidence: 'host',
    });
    expect(byAction['install editor@1.1.0']).to.deep.equal({
      op: 'install',
      actionId: 'apps/editor@1.1.0/install',
      deployment: 'apps',
      package: 'editor',
      version: '1.1.0',
      revision: rev(1),
      sha256: shas['editor@1.1.0'],
      publisher: acme.fingerprint,
      evidence: 'host',
    });
    expect(byAction['uninstall viewer@1.0.0']?.['evidence']).to.be.oneOf(['plan', 'unknown']);
  });

  it('text: one line per install, oldest first, with the commit and the key', async () => {
    const text = await fleet.ferryOk(['audit', 'ws-1']);
    const lines = text.trim().split('\n');
    expect(lines[0]).to.match(/^AT\s+ACTION\s+DEPLOYMENT\s+REVISION\s+SHA256\s+PUBLISHER\s+EVIDENCE$/);
    const editor = lines.find((l) => l.includes('install editor@1.1.0'));
    expect(editor).to.contain(`main@sha1:${commits[1]}`).and.to.contain(shas['editor@1.1.0']).and.to.contain(acme.fingerprint);
    expect(lines.findIndex((l) => l.includes('install editor@1.0.0'))).to.be.lessThan(lines.findIndex((l) => l.includes('install editor@1.1.0')));
  });

  it('an unknown host: exit 1 with the controller saying so', async () => {
    const r = await fleet.ferry(['audit', 'nope']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('no host nope');
  });
});
