/** `ferry validate` as a user runs it: real processes on temporary manifest folders (needs `npm run build`). */
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runFerry } from '../support/ferry.js';

const host = (name: string, spec = '{}') => `apiVersion: ferry/v1\nkind: Host\nmetadata: {name: ${name}}\nspec: ${spec}\n`;
const selectorGroup = 'apiVersion: ferry/v1\nkind: Group\nmetadata: {name: linux}\nspec: {selector: {facts: {os.platform: linux}}}\n';
const pkg = (version: string) =>
  `apiVersion: ferry/v1\nkind: Package\nmetadata: {name: editor}\nspec:\n  version: "${version}"\n  artifact: {sha256: ${'a'.repeat(64)}, size: 10}\n  install: {command: [sh, install.sh]}\n`;
const deployment = (name: string, version: string, targets: string) =>
  `apiVersion: ferry/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  packages: [{name: editor, version: "${version}"}]\n  targets: ${targets}\n`;

describe('ferry validate', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-validate-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function fleet(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(root, name);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    return dir;
  }

  it('exits 0 and prints a summary for valid manifests (dot-folders and other files skipped)', async () => {
    const dir = await fleet('valid', {
      'hosts/a.yaml': `${host('clt1')}---\n${host('clt2')}`,
      'hosts/b.yml': host('clt3'),
      '.git/broken.yaml': 'this: [is not read',
      'README.md': '# not a manifest',
    });
    const r = await runFerry(['validate', dir]);
    expect(r).to.deep.equal({ code: 0, stdout: 'ok: 3 resources in 2 files\n', stderr: '' });
  });

  it('defaults DIR to the current directory', async () => {
    const dir = await fleet('cwd', { 'h.yaml': host('clt1') });
    const r = await runFerry(['validate'], { cwd: dir });
    expect(r).to.deep.equal({ code: 0, stdout: 'ok: 1 resource in 1 file\n', stderr: '' });
  });

  it('exits 1 and prints every problem as FILE:LINE:COL', async () => {
    const dir = await fleet('invalid', {
      'a.yaml': host('clt1', '{relay: osaka, rack: 12}'),
      'b/c.yaml': 'kind: Host\nmetadata: {name: [x\n',
    });
    const r = await runFerry(['validate', dir]);
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal(
      [
        'a.yaml:4:22: error: unknown key "rack" in spec (allowed: labels, mac, relay)',
        'b/c.yaml:3:1: error: YAML syntax: Flow map in block collection must be sufficiently indented and end with a }',
        'b/c.yaml:3:1: error: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
        '3 errors in 2 files (2 resources)',
        '',
      ].join('\n'),
    );
    expect(r.code).to.equal(1);
  });

  it('reports an unreadable file (a broken symbolic link) as a problem, not a crash', async () => {
    const dir = await fleet('broken-link', { 'h.yaml': host('clt1') });
    await symlink(join(dir, 'gone.yaml'), join(dir, 'link.yaml'));
    const r = await runFerry(['validate', dir]);
    expect(r).to.deep.equal({
      code: 1,
      stdout: 'link.yaml:1:1: error: cannot read this file: it is a symbolic link to something that does not exist\n1 error in 2 files (1 resource)\n',
      stderr: '',
    });
  });

  it('prints JSON with --format json', async () => {
    const dir = await fleet('json', { 'a.yaml': host('clt1', '{relay: osaka}') });
    const r = await runFerry(['validate', dir, '--format', 'json']);
    expect(r.code).to.equal(1);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      valid: false,
      problems: [{ file: 'a.yaml', line: 4, col: 15, severity: 'error', message: 'spec.relay: Relay "osaka" is not defined' }],
      summary: { errors: 1, warnings: 0, files: 1, resources: 1 },
    });
  });

  describe('warnings', () => {
    let dir: string;
    before(async () => {
      dir = await fleet('warnings', {
        'p.yaml': `${pkg('1.0.0')}---\n${pkg('2.0.0')}`,
        'g.yaml': selectorGroup,
        'd.yaml': `${deployment('old', '1.0.0', '{groups: [linux]}')}---\n${deployment('new', '2.0.0', '{hosts: [clt1]}')}`,
      });
    });

    it('allows them (exit 0)', async () => {
      const r = await runFerry(['validate', dir]);
      expect(r.code).to.equal(0);
      expect(r.stdout.split('\n').slice(-2)).to.deep.equal(['ok with 2 warnings in 3 files (5 resources)', '']);
      expect(r.stdout).to.contain('d.yaml:5:14: warning: possible conflict: this deployment asks editor 1.0.0 present and deployment new asks editor 2.0.0 present');
    });

    it('fails on them with --strict (exit 1)', async () => {
      const r = await runFerry(['validate', dir, '--strict', '--format', 'json']);
      expect(r.code).to.equal(1);
      const out = JSON.parse(r.stdout) as { valid: boolean; summary: unknown };
      expect(out.valid).to.equal(false);
      expect(out.summary).to.deep.equal({ errors: 0, warnings: 2, files: 3, resources: 5 });
    });
  });

  it('names hostile input at FILE:LINE:COL, and no warning of Node or the YAML library reaches the terminal (issue 15)', async () => {
    const dir = await fleet('hostile', {
      'complex.yaml': host('clt1', '\n  labels:\n    ? [a, b]\n    : c'),
      'deep.yaml': host('clt2', `{labels: {a: ${'['.repeat(3000)}${']'.repeat(3000)}}}`),
      'numbers.yaml': pkg('1.0.0').replace('version: "1.0.0"', 'version: 2.10').replace('size: 10', 'size: 1e400'),
    });
    const r = await runFerry(['validate', dir]);
    expect(r).to.deep.equal({
      code: 1,
      stderr: '',
      stdout: [
        'complex.yaml:6:7: error: a list or mapping is used as a mapping key; keys are plain names (quote the key if it is meant as text)',
        'deep.yaml:4:81: error: lists and mappings are nested more than 64 levels deep here; a manifest needs only a few levels',
        'numbers.yaml:5:12: error: spec.version: expected a string, got the number 2.10 (quote it: "2.10")',
        'numbers.yaml:6:94: error: spec.artifact.size: 1e400 is too large a number: Ferry reads numbers up to 9007199254740991 (2^53 − 1) exactly (use a unit, e.g. 4GiB, or quote it if it is text)',
        '4 errors in 3 files (3 resources)',
        '',
      ].join('\n'),
    });
  });

  const usage = [
    { name: 'a missing DIR', args: (r: string) => ['validate', join(r, 'nope')], stderr: 'does not exist' },
    { name: 'a file as DIR', args: () => ['validate', 'package.json'], stderr: 'is not a directory' },
    { name: 'an unknown format', args: (r: string) => ['validate', r, '--format', 'xml'], stderr: 'Allowed choices are text, json' },
  ];
  for (const c of usage) {
    it(`exits 2 on ${c.name}`, async () => {
      const r = await runFerry(c.args(root));
      expect(r.code).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.contain(c.stderr);
      expect(r.stderr).to.not.match(/\bat .+:\d+:\d+/);
    });
  }
});
