/**
 * Offline bundles end to end, with real processes only: `ferry controller` watching a manifest
 * folder, `ferry bundle export`, `ferry bundle apply` killed with -9 while its installer runs and
 * then run again (the installer never runs twice), `ferry results import`, `ferry status`.
 */
import { expect } from 'chai';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ChildGroup, type Child } from '../../cli/demo/children.js';
import { makeBundleFleet, type BundleFleet } from '../support/bundle-fleet.js';
import { eventually } from '../support/eventually.js';
import { ferryBin, listeningUrl, runFerry } from '../support/ferry.js';

describe('offline bundle end to end (controller and CLI processes; apply killed -9 mid-install)', function () {
  this.timeout(180_000);
  const children = new ChildGroup();
  let fleet: BundleFleet;
  let controller: Child | undefined;
  let url: string;
  let token: string;
  let failed = false;

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  before(async () => {
    fleet = await makeBundleFleet({ installSeconds: 3, hosts: ['ship-1'] });
    await mkdir(join(fleet.root, 'logs'));
    controller = children.start({
      name: 'controller',
      // biome-ignore format: one flag and its value a line
      argv: [
        process.execPath, ferryBin, 'controller',
        '--repo', fleet.manifests,
        '--data', join(fleet.root, 'controller'),
        '--listen', '127.0.0.1:0',
        '--poll', '1h',
      ],
      logFile: join(fleet.root, 'logs', 'controller.log'),
      pipeStdout: true,
    });
    url = await listeningUrl(controller);
    token = (await readFile(join(fleet.root, 'controller', 'admin.token'), 'utf8')).trim();
  });

  after(async () => {
    await children.stopAll([controller ? [controller] : []]);
    if (failed || process.env['FERRY_E2E_KEEP']) process.stderr.write(`e2e: kept ${fleet.root}\n`);
    else await rm(fleet.root, { recursive: true, force: true });
  });

  const ferry = (...args: string[]) => runFerry(args, { env: { FERRY_SERVER: url, FERRY_TOKEN: token } });

  it('export, apply killed -9 while installing, apply again (no second install), import, status', async () => {
    const out = join(fleet.root, 'media', 'ship-1.tar');
    await mkdir(join(fleet.root, 'media'));
    const exported = await eventually(async () => {
      const r = await ferry('bundle', 'export', '--host', 'ship-1', '--out', out, '--split', '1MiB', '--json');
      return r.code === 0 ? r : undefined;
    }, 'a bundle for ship-1 (once the controller planned it)');
    const { files, fingerprint } = JSON.parse(exported.stdout) as { files: string[]; fingerprint: string };
    expect(files).to.deep.equal([`${out}.001`]);

    const data = join(fleet.root, 'ship-1', 'data');
    const root = join(fleet.root, 'ship-1', 'root');
    // biome-ignore format: one flag and its value a line
    const applyArgs = [
      'bundle', 'apply', files[0]!,
      '--name', 'ship-1',
      '--data', data,
      '--install-root', root,
      '--controller-fingerprint', fingerprint,
    ];
    const first = children.start({ name: 'apply-1', argv: [process.execPath, ferryBin, ...applyArgs], logFile: join(fleet.root, 'logs', 'apply-1.log') });
    await eventually(async () => (await readFile(join(root, 'installs.log'), 'utf8').catch(() => '')) === 'start\n', 'the installer started');
    process.kill(first.pid, 'SIGKILL');
    expect(await first.exited).to.deep.equal({ code: null, signal: 'SIGKILL' });

    const second = await runFerry(applyArgs);
    const results = `${out}.results-ship-1.json`;
    expect([second.code, second.stdout]).to.deep.equal([0, `${results}\n`]);
    // The installer the killed apply started finished on its own; it was not run again.
    expect(await readFile(join(root, 'installs.log'), 'utf8')).to.equal('start\ndone\n');

    const { appliedAt } = JSON.parse(await readFile(results, 'utf8')) as { appliedAt: string };
    const imported = await ferry('results', 'import', results);
    expect(imported.code, imported.stderr).to.equal(0);
    expect((await ferry('results', 'import', results)).stdout).to.match(/^ship-1: 0 report\(s\) imported, \d+ already known/);
    const status = JSON.parse((await ferry('status', 'hello-1', '--json')).stdout) as { hosts: { items: { host: string; state: string; actions: { source?: string }[] }[] } };
    expect(status.hosts.items.map((h) => [h.host, h.state, h.actions[0]?.source])).to.deep.equal([['ship-1', 'installed', `from a bundle, applied at ${appliedAt}`]]);
  });
});
