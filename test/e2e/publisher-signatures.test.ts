/**
 * Publisher signatures end to end, real processes only: `ferry key generate` makes a publisher
 * key, `ferry package build --sign` signs, a TrustPolicy in git declares who may sign what, a
 * real controller plans, and real agents verify before they install.
 *
 * The controller here stands in for a compromised one: git (which it follows) also declares a
 * second, "attacker" key for `rogue-*`, and leaves `plain-*` and `tampered-*` uncovered, so the
 * controller plans, signs and serves all of them. A host that pinned the real publisher key
 * (`--trust-publisher`) installs only what that key signed and reports why it refused the rest; a
 * host that pinned nothing installs everything — the pin is what protects it. A host whose own
 * trust file says the key expired refuses too. Then a commit revokes the key: `ferry validate`
 * warns with FILE:LINE, the revision applies, and the new version is blocked with the reason
 * while the installed one stays.
 */
import { readFile, stat, writeFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { TrustFleet } from './trust-fleet.js';

const fail = (id: string) => `pkgs/${id}/install`;

describe('publisher signatures end to end (real git, controller and agent processes)', function () {
  this.timeout(240_000);
  let fleet: TrustFleet;
  type Key = { privateKey: string; publicKey: string; fingerprint: string; publicKeyPem: string };
  let acme: Key;
  let rogue: Key;
  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  const policy = (revoked?: string) =>
    [
      'apiVersion: ferry/v1',
      'kind: TrustPolicy',
      'metadata: {name: publishers}',
      'spec:',
      '  publishers:',
      '    - name: acme release team',
      '      publicKey: |',
      ...acme.publicKeyPem.split('\n').map((l) => `        ${l}`),
      '      packages: ["app-*"]',
      ...(revoked ? [`      revoked: "${revoked}"`] : []),
      '    - name: added by whoever holds the controller',
      '      publicKey: |',
      ...rogue.publicKeyPem.split('\n').map((l) => `        ${l}`),
      '      packages: ["rogue-*"]',
      '',
    ].join('\n');
  const deployment = (appVersion: string) =>
    [
      'apiVersion: ferry/v1',
      'kind: Deployment',
      'metadata: {name: pkgs}',
      'spec:',
      '  packages:',
      `    - {name: app-editor, version: "${appVersion}"}`,
      '    - {name: rogue-tool, version: "1.0.0"}',
      '    - {name: plain-tool, version: "1.0.0"}',
      '    - {name: tampered-tool, version: "1.0.0"}',
      '  targets: {hosts: [pinned, open, expiring]}',
      '',
    ].join('\n');

  before(async () => {
    fleet = await TrustFleet.create('ferry-publishers-');
    const a = await fleet.generateKey('acme');
    const r = await fleet.generateKey('rogue');
    acme = { ...a, publicKeyPem: (await readFile(a.publicKey, 'utf8')).trim() };
    rogue = { ...r, publicKeyPem: (await readFile(r.publicKey, 'utf8')).trim() };

    const manifests = [
      await fleet.buildPackage('app-editor', '1.0.0', { sign: acme.privateKey }),
      await fleet.buildPackage('app-editor', '1.1.0', { sign: acme.privateKey }),
      await fleet.buildPackage('rogue-tool', '1.0.0', { sign: rogue.privateKey }),
      await fleet.buildPackage('plain-tool', '1.0.0'),
    ];
    // A substituted artifact: the publisher signed one tampered-tool, another one ships under its signature.
    const genuine = await fleet.buildPackage('tampered-tool', '1.0.0', { sign: acme.privateKey, salt: 'genuine' });
    const substitute = await fleet.buildPackage('tampered-tool', '1.0.0', { salt: 'evil' });
    const signatures = /\n {4}signatures:\n(?: {6}.*\n)+/.exec(genuine)![0];
    manifests.push(substitute.replace(/\n {2}install:/, `${signatures}  install:`));
    await writeFile(join(fleet.admin, 'packages.yaml'), manifests.join(''));
    await writeFile(join(fleet.admin, 'trust.yaml'), policy());
    await writeFile(join(fleet.admin, 'deployment.yaml'), deployment('1.0.0'));
    await fleet.commitAndPush('publishers, packages, deployment');

    await fleet.startController();
    for (const f of await readdir(join(fleet.admin, 'artifacts'))) await fleet.ferryOk(['package', 'push', join('artifacts', f)]);
    const enrollToken = (await fleet.ferryOk(['token', 'create', '--ttl', '1h'])).trim();

    // `expiring` pinned the same key in its own trust file, with an expiry that has passed.
    await mkdir(fleet.dataDir('expiring'), { recursive: true, mode: 0o700 });
    const trust = { publishers: [{ publicKey: `${acme.publicKeyPem}\n`, packages: ['*'], expires: '2020-01-01T00:00:00Z' }] };
    await writeFile(join(fleet.dataDir('expiring'), 'trusted-publishers.json'), JSON.stringify(trust), { mode: 0o600 });

    fleet.startAgent('pinned', enrollToken, ['--trust-publisher', acme.publicKey]);
    fleet.startAgent('open', enrollToken);
    fleet.startAgent('expiring', enrollToken);
  });

  after(async () => {
    await fleet?.close(failed);
  });

  it('ferry key generate: a private key of mode 0600 and a public key, and the fingerprint printed', async () => {
    expect((await stat(acme.privateKey)).mode & 0o777).to.equal(0o600);
    expect(acme.fingerprint).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const again = await fleet.ferry(['key', 'generate', '--out', acme.privateKey.replace(/\.key$/, '')]);
    expect({ code: again.code, stderr: again.stderr }).to.deep.equal({
      code: 2,
      stderr: `ferry: ${acme.privateKey} exists; choose another --out PREFIX (a key is never overwritten)\n`,
    });
  });

  it('the pinned host installs what the pinned key signed and refuses the rest, saying why', async () => {
    await fleet.waitFor('pinned', fail('app-editor@1.0.0'), 'installed');
    const rogueTool = await fleet.waitFor('pinned', fail('rogue-tool@1.0.0'), 'failed');
    const plain = await fleet.waitFor('pinned', fail('plain-tool@1.0.0'), 'failed');
    const tampered = await fleet.waitFor('pinned', fail('tampered-tool@1.0.0'), 'failed');
    expect([rogueTool.reason, plain.reason, tampered.reason?.replace(/sha256 [0-9a-f]{12}…/, 'sha256 X…')]).to.deep.equal([
      `publisher check: signed by ${rogue.fingerprint}, which is not trusted for rogue-tool (trusted: ${acme.fingerprint})`,
      `publisher check: plain-tool 1.0.0 is not signed; a signature by ${acme.fingerprint} is required (\`ferry package build --sign KEYFILE\`)`,
      `publisher check: the signature by ${acme.fingerprint} does not match tampered-tool 1.0.0 sha256 X… (artifact or metadata changed after signing)`,
    ]);
    expect((await readdir(fleet.installRoot('pinned'))).sort()).to.deep.equal(['app-editor']);
    expect((await stat(join(fleet.dataDir('pinned'), 'trusted-publishers.json'))).mode & 0o777).to.equal(0o600);
  });

  it('the host that pinned nothing installs all four: the controller alone decides for it', async () => {
    for (const id of ['app-editor@1.0.0', 'rogue-tool@1.0.0', 'plain-tool@1.0.0', 'tampered-tool@1.0.0']) await fleet.waitFor('open', fail(id), 'installed');
    expect((await readdir(fleet.installRoot('open'))).sort()).to.deep.equal(['app-editor', 'plain-tool', 'rogue-tool', 'tampered-tool']);
    expect(await readFile(join(fleet.installRoot('open'), 'tampered-tool'), 'utf8')).to.equal('1.0.0evil\n');
  });

  it('a key expired in the host trust file refuses new installs and says why', async () => {
    const s = await fleet.waitFor('expiring', fail('app-editor@1.0.0'), 'failed');
    expect(s.reason).to.equal(`publisher check: publisher key ${acme.fingerprint} expired at 2020-01-01T00:00:00Z (this host's trusted-publishers.json)`);
    expect(await readdir(fleet.installRoot('expiring')).catch(() => [])).to.deep.equal([]);
  });

  it('the installed report carries the chain of custody: revision, digest, the publisher key the host accepted', async () => {
    const d = await fleet.api<{ history: { actionId: string; state: string; custody?: unknown }[]; plan: { revision: string } }>('/v1/hosts/pinned?history=1000');
    const installed = d.history.find((r) => r.actionId === fail('app-editor@1.0.0') && r.state === 'installed');
    const manifest = await readFile(join(fleet.admin, 'packages.yaml'), 'utf8');
    const sha = /name: app-editor\nspec:\n {2}version: "1\.0\.0"\n {2}artifact:\n {4}sha256: ([0-9a-f]{64})/.exec(manifest)![1];
    expect(installed?.custody).to.deep.equal({ revision: d.plan.revision, sha256: sha, publisher: acme.fingerprint });
  });

  it('a commit revokes the key: validate warns with FILE:LINE, the revision applies, the new version is blocked, the installed one stays', async () => {
    await writeFile(join(fleet.admin, 'trust.yaml'), policy('release laptop lost'));
    await writeFile(join(fleet.admin, 'deployment.yaml'), deployment('1.1.0'));
    const validate = await fleet.ferry(['validate', '.']);
    expect(validate.code, validate.stderr).to.equal(0);
    expect(validate.stdout + validate.stderr).to.match(
      new RegExp(
        `packages\\.yaml:\\d+:\\d+: warning: publisher key ${acme.fingerprint.replace(/[+/]/g, '\\$&')} is revoked by TrustPolicy publishers: release laptop lost; new installs of app-editor 1\\.1\\.0 are blocked`,
      ),
    );
    const commit = await fleet.commitAndPush('revoke the acme release key; move to app-editor 1.1.0');
    const source = await fleet.refresh();
    expect(source.lastAppliedRevision).to.equal(`main@sha1:${commit}`);
    const blocked = await fleet.waitFor('pinned', fail('app-editor@1.1.0'), 'waiting');
    expect(blocked.reason).to.equal(`blocked: publisher: publisher key ${acme.fingerprint} is revoked by TrustPolicy publishers: release laptop lost`);
    expect(await readFile(join(fleet.installRoot('pinned'), 'app-editor'), 'utf8')).to.equal('1.0.0\n');
  });
});
