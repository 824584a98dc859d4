/** One output switch everywhere (issue 15 item 14): every command that prints data takes --json. */
import { expect } from 'chai';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands } from '../../cli/commands.js';
import { runFerry } from '../support/ferry.js';

/** The commands that run a service or a show rather than print a result. */
const services = new Set(['controller', 'agent', 'demo']);

describe('--json on every command that prints data', function () {
  this.timeout(120_000);
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-json-'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('every such command lists --json in its help', async () => {
    const missing: string[] = [];
    for (const c of commands.filter((x) => x.load && !services.has(x.words.join(' ')))) {
      const r = await runFerry([...c.words, '--help']);
      if (!/^\s+--json\b/m.test(r.stdout)) missing.push(c.words.join(' '));
    }
    expect(missing).to.deep.equal([]);
  });

  it('validate --json is --format json', async () => {
    const json = await runFerry(['validate', 'examples/manifests', '--json']);
    const format = await runFerry(['validate', 'examples/manifests', '--format', 'json']);
    expect(json.code, json.stderr).to.equal(0);
    expect(JSON.parse(json.stdout)).to.deep.equal(JSON.parse(format.stdout)).and.to.include({ valid: true });
  });

  it('package build --json prints the artifact and the manifest as one object (--format yaml stays the default)', async () => {
    const dir = join(work, 'pkg');
    await mkdir(dir);
    await writeFile(join(dir, 'install.sh'), 'echo hi\n');
    const r = await runFerry(['package', 'build', dir, '--name', 'tool', '--version', '1.2.0', '--out', join(work, 'out'), '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const parsed = JSON.parse(r.stdout) as {
      file: string;
      sha256: string;
      size: number;
      entries: number;
      manifest: { kind: string; spec: { version: string; artifact: { sha256: string } } };
    };
    expect(parsed.file).to.equal(join(work, 'out', 'tool-1.2.0.tar.gz'));
    expect(parsed.manifest).to.deep.include({ apiVersion: 'ferry/v1', kind: 'Package', metadata: { name: 'tool' } });
    expect(parsed.manifest.spec.version).to.equal('1.2.0');
    expect(parsed.manifest.spec.artifact.sha256)
      .to.equal(parsed.sha256)
      .and.match(/^[0-9a-f]{64}$/);
    const yaml = await runFerry(['package', 'build', dir, '--name', 'tool', '--version', '1.2.0', '--out', join(work, 'out')]);
    expect(yaml.stdout).to.match(/^---\napiVersion: ferry\/v1\nkind: Package\n/);
    expect(yaml.stdout).to.contain(`sha256: ${parsed.sha256}`);
  });
});
