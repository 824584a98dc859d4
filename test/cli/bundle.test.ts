/**
 * The offline-bundle commands as real processes against a real controller (manifest folder,
 * SQLite, HTTP on port 0): export for a never-enrolled host and for an enrolled-then-offline one,
 * apply on the host's data folder, import (twice), status with its source.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningController } from '../../controller/controller.js';
import { startTestController } from '../support/controller.js';
import { keyFingerprint } from '../../core/signing/index.js';
import { makeBundleFleet, type BundleFleet } from '../support/bundle-fleet.js';
import { eventually } from '../support/eventually.js';
import { runFerry } from '../support/ferry.js';

interface StatusView {
  hosts: { items: { host: string; state: string; actions: { state: string; source?: string }[] }[] };
}

describe('ferry bundle export / apply, ferry results import', function () {
  this.timeout(120_000);
  let fleet: BundleFleet;
  let work: string;
  let c: RunningController;
  let env: NodeJS.ProcessEnv;
  let fingerprint: string;

  before(async () => {
    fleet = await makeBundleFleet();
    work = await mkdtemp(join(tmpdir(), 'ferry-bundle-cli-'));
    c = await startTestController({ dir: fleet.manifests, data: join(work, 'controller') });
    env = { FERRY_SERVER: c.url, FERRY_TOKEN: c.keys.adminToken };
    fingerprint = keyFingerprint(c.keys.publicKeyPem);
    await eventually(async () => (await c.store.getPlan('offline-1')) && (await c.store.getPlan('offline-2')), 'plans of both hosts');
  });
  after(async () => {
    await c?.stop();
    await rm(work, { recursive: true, force: true });
    await rm(fleet.root, { recursive: true, force: true });
  });

  const ferry = (...args: string[]) => runFerry(args, { env });
  const status = async () => {
    const r = await ferry('status', 'hello-1', '--json');
    const view = JSON.parse(r.stdout) as StatusView;
    return view.hosts.items.map((h) => [h.host, h.state, h.actions[0]?.source ?? null]);
  };

  it('a never-enrolled host: export prints the fingerprint; apply with it installs; import merges once; status shows the source', async () => {
    const out = join(work, 'offline-1.tar');
    const exported = await ferry('bundle', 'export', '--host', 'offline-1', '--out', out);
    expect([exported.code, exported.stdout]).to.deep.equal([0, `${out}\ncontroller key fingerprint: ${fingerprint}\n`]);

    const data = join(work, 'host-1');
    const root = join(work, 'root-1');
    const applied = await ferry('bundle', 'apply', out, '--name', 'offline-1', '--data', data, '--install-root', root, '--controller-fingerprint', fingerprint);
    const results = `${out}.results-offline-1.json`;
    expect([applied.code, applied.stdout]).to.deep.equal([0, `${results}\n`]);
    expect(await readFile(join(root, 'installs.log'), 'utf8')).to.equal('start\ndone\n');

    const again = await ferry('bundle', 'apply', out, '--name', 'offline-1', '--data', data, '--install-root', root);
    expect([again.code, again.stdout]).to.deep.equal([0, `${results}\n`]);
    expect(await readFile(join(root, 'installs.log'), 'utf8')).to.equal('start\ndone\n');

    const { appliedAt } = JSON.parse(await readFile(results, 'utf8')) as { appliedAt: string };
    const imported = await ferry('results', 'import', results);
    expect([imported.code, imported.stdout]).to.deep.equal([0, `offline-1: 4 report(s) imported, 0 already known (from a bundle, applied at ${appliedAt})\n`]);
    const twice = await ferry('results', 'import', results);
    expect([twice.code, twice.stdout]).to.deep.equal([0, `offline-1: 0 report(s) imported, 4 already known (from a bundle, applied at ${appliedAt})\n`]);
    expect((await status()).find((r) => r[0] === 'offline-1')).to.deep.equal(['offline-1', 'installed', `from a bundle, applied at ${appliedAt}`]);

    const tampered = join(work, 'tampered.json');
    await writeFile(tampered, (await readFile(results, 'utf8')).replace('"installed"', '"failed"'));
    const refused = await ferry('results', 'import', tampered);
    expect([refused.code, refused.stderr]).to.deep.equal([
      1,
      'ferry: POST /v1/results failed (422 results-refused): the results file of offline-1 is altered, or was not made from a bundle of this controller (its signature does not hold)\n',
    ]);
  });

  it('an enrolled-then-offline host: the key pinned at enrollment is trusted without a fingerprint', async () => {
    const data = join(work, 'host-2');
    const root = join(work, 'root-2');
    const token = JSON.parse((await ferry('token', 'create', '--json')).stdout) as { token: string };
    const online = await runFerry(
      ['agent', '--once', '--server', c.url, '--enroll-token', token.token, '--name', 'offline-2', '--data', data, '--install-root', root, '--no-os-packages'],
      {
        env: {},
      },
    );
    expect(online.code).to.equal(0);
    // Online, the install window (2099) is closed: downloaded, nothing installed.
    expect(await readFile(join(root, 'installs.log'), 'utf8').catch(() => 'none')).to.equal('none');

    const out = join(work, 'offline-2.tar');
    expect((await ferry('bundle', 'export', '--host', 'offline-2', '--out', out, '--split', '1MiB')).code).to.equal(0);
    const applied = await ferry('bundle', 'apply', `${out}.001`, '--data', data, '--install-root', root);
    expect([applied.code, applied.stdout]).to.deep.equal([0, `${out}.results-offline-2.json\n`]);
    expect(await readFile(join(root, 'installs.log'), 'utf8')).to.equal('start\ndone\n');
    expect((await ferry('results', 'import', `${out}.results-offline-2.json`)).code).to.equal(0);
    const row = (await status()).find((r) => r[0] === 'offline-2');
    expect([row?.[0], row?.[1], String(row?.[2]).startsWith('from a bundle, applied at ')]).to.deep.equal(['offline-2', 'installed', true]);
  });

  it('export for a group carries every member; usage and unknown hosts are refused', async () => {
    const group = await ferry('bundle', 'export', '--group', 'ship', '--out', join(work, 'ship.tar'), '--json');
    const parsed = JSON.parse(group.stdout) as { hosts: string[]; files: string[]; fingerprint: string };
    expect([group.code, parsed.hosts, parsed.files, parsed.fingerprint]).to.deep.equal([0, ['offline-1', 'offline-2'], [join(work, 'ship.tar')], fingerprint]);

    const unknown = await ferry('bundle', 'export', '--host', 'nosuch', '--out', join(work, 'x.tar'));
    expect([unknown.code, unknown.stderr]).to.deep.equal([
      1,
      "ferry: GET /v1/bundles?host=nosuch&valid=30d failed (404 not-found): no plan for host nosuch: name it in a Host manifest or a group's hosts (or let it enroll), and wait for the controller to plan it\n",
    ]);
    const neither = await ferry('bundle', 'export', '--out', join(work, 'x.tar'));
    expect([neither.code, neither.stderr]).to.deep.equal([2, 'ferry: give --host H or --group G (one of them)\n']);
    const badValid = await ferry('bundle', 'export', '--host', 'offline-1', '--out', join(work, 'x.tar'), '--valid', 'soon');
    expect([badValid.code, badValid.stderr]).to.deep.equal([2, 'ferry: --valid soon is not a duration; use e.g. 30d or 72h\n']);
  });
});
