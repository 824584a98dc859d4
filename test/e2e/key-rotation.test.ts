/**
 * Controller key rotation end to end, real processes only: a controller with key K1 and agents
 * pinned to it; `ferry controller --rotate-key` (restart) makes K2, plans carry K2 vouched for by
 * K1 and both signatures; a running agent adopts K2, a host enrolling meanwhile pins K2; installs
 * go on; `--rotate-key finish` (restart) deletes K1 and signs with K2 alone: the adopted and new
 * hosts install, and a host that slept through the rotation (still pinned to K1) refuses the plan.
 */
import { createPublicKey } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { keyFingerprint } from '../../core/signing/index.js';
import { eventually } from '../support/eventually.js';
import { TrustFleet } from './trust-fleet.js';

const exists = (path: string): Promise<boolean> => stat(path).then(Boolean, () => false);

describe('controller key rotation end to end (real controller and agent processes)', function () {
  this.timeout(240_000);
  let fleet: TrustFleet;
  let enrollToken: string;
  let k1: string;
  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  const keyOf = async (file: string) => keyFingerprint(createPublicKey(await readFile(file, 'utf8')));
  const pinnedBy = async (host: string) =>
    keyFingerprint((JSON.parse(await readFile(join(fleet.dataDir(host), 'credential.json'), 'utf8')) as { controllerKey: string }).controllerKey);
  const deployment = (version: string) =>
    [
      'apiVersion: ferry/v1',
      'kind: Deployment',
      'metadata: {name: tool}',
      'spec:',
      `  packages: [{name: tool, version: "${version}"}]`,
      '  targets: {hosts: [early, late, sleeper]}',
      '',
    ].join('\n');

  /** Commits `tool` at `version` and brings it to the controller. */
  async function release(version: string): Promise<void> {
    await writeFile(join(fleet.admin, 'deployment.yaml'), deployment(version));
    await fleet.commitAndPush(`tool ${version}`);
    await fleet.refresh();
  }

  /** `ferry agent --once` as `sleeper`: a host that runs now and then. */
  async function sleeperOnce(): Promise<{ code: number | null; log: string }> {
    const r = await fleet.ferry([
      // biome-ignore format: one flag and its value a line
      'agent',
      '--once',
      '--server',
      fleet.url,
      '--enroll-token',
      enrollToken,
      '--name',
      'sleeper',
      '--data',
      fleet.dataDir('sleeper'),
      '--install-root',
      fleet.installRoot('sleeper'),
      '--no-os-packages',
    ]);
    return { code: r.code, log: r.stderr };
  }

  before(async () => {
    fleet = await TrustFleet.create('ferry-rotation-');
    let manifests = '';
    for (const v of ['1.0.0', '2.0.0', '3.0.0']) manifests += await fleet.buildPackage('tool', v);
    await writeFile(join(fleet.admin, 'packages.yaml'), manifests);
    await writeFile(join(fleet.admin, 'deployment.yaml'), deployment('1.0.0'));
    await fleet.commitAndPush('tool 1.0.0');
    await fleet.startController();
    k1 = await keyOf(join(fleet.root, 'controller', 'controller.key'));
    enrollToken = (await fleet.ferryOk(['token', 'create', '--ttl', '1h'])).trim();
    fleet.startAgent('early', enrollToken);
  });

  after(async () => {
    await fleet?.close(failed);
  });

  it('before: hosts pin K1 and install', async () => {
    await fleet.waitFor('early', 'tool/tool@1.0.0/install', 'installed');
    const sleeper = await sleeperOnce();
    expect(sleeper.code, sleeper.log).to.equal(0);
    expect(await readFile(join(fleet.installRoot('sleeper'), 'tool'), 'utf8')).to.equal('1.0.0\n');
    expect([await pinnedBy('early'), await pinnedBy('sleeper')]).to.deep.equal([k1, k1]);
  });

  let k2: string;
  it('--rotate-key: plans carry K2 vouched for by K1; the running host adopts K2, a new host pins K2, installs go on', async () => {
    await fleet.stopController();
    await fleet.startController(['--rotate-key']);
    k2 = await keyOf(join(fleet.root, 'controller', 'controller.next.key'));
    expect(k2).to.not.equal(k1);
    expect((await stat(join(fleet.root, 'controller', 'controller.next.key'))).mode & 0o777).to.equal(0o600);
    await eventually(async () => (await pinnedBy('early')) === k2, 'early adopts K2');
    fleet.startAgent('late', enrollToken);
    await fleet.waitFor('late', 'tool/tool@1.0.0/install', 'installed');
    expect(await pinnedBy('late')).to.equal(k2);
    await release('2.0.0');
    await fleet.waitFor('early', 'tool/tool@2.0.0/install', 'installed');
    await fleet.waitFor('late', 'tool/tool@2.0.0/install', 'installed');
    expect(await readFile(join(fleet.root, 'logs', 'early.log'), 'utf8')).to.contain(`"event":"controller-key-rotated","from":"${k1}","to":"${k2}"`);
  });

  it('--rotate-key finish: K1 is deleted, plans are signed by K2 alone; adopted and new hosts install, the sleeper pinned to K1 refuses', async () => {
    await fleet.stopController();
    await fleet.startController(['--rotate-key', 'finish']);
    expect(await keyOf(join(fleet.root, 'controller', 'controller.key'))).to.equal(k2);
    expect(await exists(join(fleet.root, 'controller', 'controller.next.key'))).to.equal(false);
    await release('3.0.0');
    await fleet.waitFor('early', 'tool/tool@3.0.0/install', 'installed');
    await fleet.waitFor('late', 'tool/tool@3.0.0/install', 'installed');
    const sleeper = await sleeperOnce();
    expect(sleeper.code).to.equal(1);
    expect(sleeper.log).to.match(/rejected: signature does not match the pinned controller key; the last good plan \(serial 1\) stays in force/);
    expect(await readFile(join(fleet.installRoot('sleeper'), 'tool'), 'utf8')).to.equal('1.0.0\n');
  });

  it('--rotate-key finish with no rotation under way: refused with what to do', async () => {
    await fleet.stopController();
    const r = await fleet.ferry(['controller', '--repo', fleet.origin, '--data', join(fleet.root, 'controller'), '--listen', '127.0.0.1:0', '--rotate-key', 'finish']);
    expect({ code: r.code, stderr: r.stderr.trim().split('\n').at(-1) }).to.deep.equal({
      code: 2,
      stderr: `ferry: no key rotation under way (${join(fleet.root, 'controller', 'controller.next.key')} is missing): start one with --rotate-key`,
    });
  });
});
