/**
 * `install.shutdownAfter` end to end: a real controller on a manifests directory, a real
 * `ferry agent --once` process whose --shutdown-command writes a file; the controller's host
 * history and `ferry hosts HOST` then say "shut down after install".
 */
import { expect } from 'chai';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningController } from '../../../controller/controller.js';
import { startTestController } from '../../support/controller.js';
import { buildTestArtifact, packageFiles } from '../../agent/runtime/fixture.js';
import { runFerry } from '../../support/ferry.js';
import { deploymentYaml, packageYaml } from './manifest-yaml.js';

describe('wake: install.shutdownAfter with a real agent process', function () {
  this.timeout(120_000);
  let work: string;
  let controller: RunningController;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-shutdown-'));
  });
  after(async () => {
    await controller?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('installs, runs the shutdown command once, and the controller shows it (a failing command: reported failed)', async () => {
    const manifests = join(work, 'manifests');
    const info = await buildTestArtifact(join(work, 'pkg'), join(manifests, 'artifacts', 'notes-1.0.0.tar.gz'), packageFiles('notes', '1.0.0', 1024));
    await writeFile(
      join(manifests, 'fleet.yaml'),
      [
        packageYaml('notes', '1.0.0', `sha256: ${info.sha256}, size: ${info.size}, source: artifacts/notes-1.0.0.tar.gz`, [
          'install: {command: [sh, install.sh], timeout: 1m}',
          'uninstall: {command: [sh, uninstall.sh], timeout: 1m}',
        ]),
        deploymentYaml('notes-night', 'notes', '1.0.0', ['pc1', 'pc2'], 'install: {shutdownAfter: true}'),
      ].join('---\n'),
    );
    controller = await startTestController({ dir: manifests, data: join(work, 'ctl'), pollMs: 1000 });
    const { token } = await controller.store.createToken({ ttlMs: 3_600_000, now: new Date() });
    const marker = join(work, 'powered-off');
    const agentArgs = ['agent', '--server', controller.url, '--enroll-token', token, '--name', 'pc1', '--data', join(work, 'agent'), '--install-root', join(work, 'root')];
    const once = [...agentArgs, '--once', '--no-os-packages', '--interval', '5s', '--shutdown-command', `touch ${marker}`];
    // A few cycles: enroll and report inventory, get the plan once planned, download, install, shut down.
    let cycles = 0;
    for (; cycles < 10; cycles++) {
      const r = await runFerry(once);
      expect(r.code, r.stderr).to.be.oneOf([0, 1]);
      if (
        await access(marker).then(
          () => true,
          () => false,
        )
      )
        break;
    }
    expect(cycles).to.be.below(10);
    // Nothing new: another cycle does not shut down again.
    await rm(marker);
    expect((await runFerry(once)).code).to.equal(0);
    expect(
      await access(marker).then(
        () => true,
        () => false,
      ),
    ).to.equal(false);

    const history = (await controller.store.history('pc1')).filter((h) => h.actionId === 'shutdown').map((h) => [h.state, h.reason]);
    const serial = (await controller.store.getPlan('pc1'))!.serial;
    expect(history).to.deep.equal([['installed', `shut down after install (plan serial ${serial}): touch ${marker}`]]);
    expect((await readFile(join(work, 'root', 'opt', 'notes', 'VERSION'), 'utf8')).trim()).to.equal('1.0.0');

    const shown = await runFerry(['hosts', 'pc1'], { env: { FERRY_SERVER: controller.url, FERRY_TOKEN: controller.keys.adminToken } });
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.match(
      new RegExp(`\\n  shut down after install \\(plan serial ${serial}\\): touch ${marker.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(at \\d{4}-[\\d-]+T[\\d:.]+Z\\)\\n`),
    );

    // `ferry status DEPLOYMENT` lists the host's power events under the hosts table.
    const status = await runFerry(['status', 'notes-night'], { env: { FERRY_SERVER: controller.url, FERRY_TOKEN: controller.keys.adminToken } });
    expect(status.stdout).to.match(/\nPower:\nHOST +EVENT +AT +DETAIL\npc1 +shut down +\d{4}-[\d-]+T[\d:.]+Z +shut down after install \(plan serial \d+\)/);

    // A shutdown command that fails is reported as failed, after the report that it was started.
    const failing = ['agent', '--server', controller.url, '--enroll-token', token, '--name', 'pc2', '--data', join(work, 'agent2'), '--install-root', join(work, 'root2')];
    const failingOnce = [...failing, '--once', '--no-os-packages', '--interval', '5s', '--shutdown-command', 'false'];
    const shutdowns = async () => (await controller.store.history('pc2')).filter((h) => h.actionId === 'shutdown').map((h) => [h.state, h.reason]);
    for (let i = 0; i < 10 && (await shutdowns()).length < 2; i++) await runFerry(failingOnce);
    const serial2 = (await controller.store.getPlan('pc2'))!.serial;
    expect(await shutdowns()).to.deep.equal([
      ['installed', `shut down after install (plan serial ${serial2}): false`],
      ['failed', 'shutdown after install failed: false: exited with code 1'],
    ]);
  });
});
