import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { listOsPackages, osPackageListers } from '../../../agent/inventory/os-packages.js';
import { compareRpm, parseRpm } from '../../../core/versions/index.js';

const run = promisify(execFile);

describe('agent/inventory OS packages', () => {
  let dir: string;
  before(async function () {
    // Debian's `rpm` package (rpm and rpmbuild); .ci/run installs it.
    if (!existsSync('/usr/bin/rpmbuild')) {
      if (process.env['CI'] === 'true') throw new Error("rpmbuild is missing: .ci/run installs Debian's rpm package");
      this.skip();
    }
    dir = await mkdtemp(join(tmpdir(), 'ferry-rpm-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Builds a payload-less package and records it in the rpm database under `dir` (what `rpm -qa` reads with HOME=dir). */
  async function install(name: string, epoch: number | undefined, version: string, release: string): Promise<void> {
    const spec = join(dir, `${name}.spec`);
    const header = [`Name: ${name}`, ...(epoch === undefined ? [] : [`Epoch: ${epoch}`]), `Version: ${version}`, `Release: ${release}`];
    await writeFile(spec, [...header, 'Summary: test', 'License: MIT', 'BuildArch: noarch', '%description', 'test', '%files', ''].join('\n'));
    await run('rpmbuild', ['-bb', '--define', `_topdir ${join(dir, 'top')}`, spec]);
    const rpms = join(dir, 'top', 'RPMS', 'noarch');
    const file = (await readdir(rpms)).find((f) => f.startsWith(`${name}-`))!;
    await run('rpm', ['--dbpath', join(dir, 'db'), '-i', '--justdb', '--nodeps', '--ignorearch', '--ignoreos', join(rpms, file)]);
  }

  it('rpm: the epoch is part of the version, so a higher epoch compares newer whatever the upstream version', async () => {
    await mkdir(join(dir, 'db'));
    await run('rpm', ['--dbpath', join(dir, 'db'), '--initdb']);
    await install('withepoch', 2, '1.4', '3');
    await install('plain', undefined, '9.0', '1');
    await writeFile(join(dir, '.rpmmacros'), `%_dbpath ${join(dir, 'db')}\n`);
    const rpm = osPackageListers.filter((l) => l.source === 'rpm');
    const items = await listOsPackages(rpm, { ...process.env, HOME: dir });
    expect(items).to.deep.equal([
      { name: 'plain', version: '9.0-1', source: 'rpm' },
      { name: 'withepoch', version: '2:1.4-3', source: 'rpm' },
    ]);
    expect(compareRpm(parseRpm('2:1.4-3')!, parseRpm('1:9.0-1')!)).to.be.greaterThan(0);
  });
});
