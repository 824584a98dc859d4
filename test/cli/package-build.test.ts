import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { list, type ReadEntry } from 'tar';
import { parse } from 'yaml';
import { runFerry } from '../support/ferry.js';

/** A package folder as a list of files; `mode` is what the file is created with. */
interface FileSpec {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

const files: readonly FileSpec[] = [
  { path: 'install.sh', content: '#!/bin/sh\nset -eu\necho install\n', mode: 0o644 },
  { path: 'uninstall.sh', content: '#!/bin/sh\nset -eu\necho uninstall\n', mode: 0o644 },
  { path: 'payload/bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 },
  { path: 'payload/share/notes.txt', content: 'notes\n', mode: 0o644 },
  { path: 'payload/share/z-last.txt', content: 'last\n', mode: 0o644 },
];

/** Writes `specs` under `dir` in the given order, with the given modes and mtime. */
async function makeFolder(dir: string, specs: readonly FileSpec[], opts: { modeMask?: number; modeOr?: number; mtime?: Date } = {}): Promise<void> {
  for (const f of specs) {
    const abs = path.join(dir, f.path);
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, f.content);
    await chmod(abs, (f.mode & (opts.modeMask ?? 0o777)) | (opts.modeOr ?? 0));
    if (opts.mtime) await utimes(abs, opts.mtime, opts.mtime);
  }
  if (opts.mtime) {
    for (const d of ['payload/share', 'payload/bin', 'payload', '.']) await utimes(path.join(dir, d), opts.mtime, opts.mtime);
  }
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** One line per entry of the tarball `file`, as `describe` writes it; entries it maps to undefined are skipped. */
async function tarEntries(file: string, describe: (e: ReadEntry) => string | undefined): Promise<string[]> {
  const lines: string[] = [];
  await list({
    file,
    onReadEntry: (e) => {
      const line = describe(e);
      if (line !== undefined) lines.push(line);
    },
  });
  return lines;
}

/** The manifest's spec.artifact.sha256 from a build's stdout. */
function printedSha(stdout: string): string {
  return (parse(stdout) as { spec: { artifact: { sha256: string } } }).spec.artifact.sha256;
}

describe('ferry package build', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'ferry-package-build-'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('prints a Package manifest whose artifact sha256, size, unpacked size and source match the file it wrote', async () => {
    await makeFolder(path.join(tmp, 'src'), files);
    const unpackedBytes = files.reduce((n, f) => n + Buffer.byteLength(f.content), 0);
    const r = await runFerry(['package', 'build', 'src', '--name', 'tool', '--version', '1.0.0', '--out', 'artifacts'], { cwd: tmp });
    expect(r.stderr).to.match(/^wrote artifacts\/tool-1\.0\.0\.tar\.gz: 8 entries, .*, sha256 [0-9a-f]{64}\n$/);
    expect(r.code).to.equal(0);
    const file = path.join(tmp, 'artifacts', 'tool-1.0.0.tar.gz');
    expect(parse(r.stdout)).to.deep.equal({
      apiVersion: 'ferry/v1',
      kind: 'Package',
      metadata: { name: 'tool' },
      spec: {
        version: '1.0.0',
        artifact: { sha256: await sha256Of(file), size: (await stat(file)).size, unpackedSize: unpackedBytes, source: 'artifacts/tool-1.0.0.tar.gz' },
        install: { command: ['sh', 'install.sh'] },
        uninstall: { command: ['sh', 'uninstall.sh'] },
      },
    });
    expect(r.stdout).to.match(/^---\napiVersion: ferry\/v1\n/);
    expect(r.stdout).to.contain('version: "1.0.0"');
  });

  it('writes sorted, relative entries owned by 0 with fixed mtimes and 0644/0755 modes', async () => {
    await makeFolder(path.join(tmp, 'src'), files, { modeOr: 0o020 });
    const r = await runFerry(['package', 'build', 'src', '--name', 'tool', '--version', '1.0.0', '--out', '.'], { cwd: tmp });
    expect(r.code).to.equal(0);
    const entries = await tarEntries(path.join(tmp, 'tool-1.0.0.tar.gz'), (e) => {
      const mtime = e.type === 'Directory' ? '-' : e.mtime?.toISOString();
      return `${e.type} ${e.path} ${(e.mode ?? 0).toString(8)} ${e.uid ?? 0}:${e.gid ?? 0} ${e.uname ?? ''}:${e.gname ?? ''} ${mtime}`;
    });
    const t = '2000-01-01T00:00:00.000Z';
    expect(entries).to.deep.equal([
      `File install.sh 644 0:0 : ${t}`,
      'Directory payload/ 755 0:0 : -',
      'Directory payload/bin/ 755 0:0 : -',
      `File payload/bin/tool 755 0:0 : ${t}`,
      'Directory payload/share/ 755 0:0 : -',
      `File payload/share/notes.txt 644 0:0 : ${t}`,
      `File payload/share/z-last.txt 644 0:0 : ${t}`,
      `File uninstall.sh 644 0:0 : ${t}`,
    ]);
    const gz = await readFile(path.join(tmp, 'tool-1.0.0.tar.gz'));
    expect([...gz.subarray(0, 10)]).to.deep.equal([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  });

  it('gives the same sha256 for the same folder built twice', async () => {
    await makeFolder(path.join(tmp, 'src'), files);
    const a = await runFerry(['package', 'build', 'src', '--name', 'tool', '--version', '1.0.0', '--out', 'a'], { cwd: tmp });
    const b = await runFerry(['package', 'build', 'src', '--name', 'tool', '--version', '1.0.0', '--out', 'b'], { cwd: tmp });
    expect([a.code, b.code]).to.deep.equal([0, 0]);
    expect(printedSha(a.stdout)).to.equal(printedSha(b.stdout));
    expect(await readFile(path.join(tmp, 'a', 'tool-1.0.0.tar.gz'))).to.deep.equal(await readFile(path.join(tmp, 'b', 'tool-1.0.0.tar.gz')));
  });

  it('gives the same sha256 whatever the creation order, mtimes, group/other bits and owner-only modes', async () => {
    await makeFolder(path.join(tmp, 'one'), files, { modeOr: 0o064, mtime: new Date('2026-03-04T05:06:07Z') });
    await makeFolder(path.join(tmp, 'two'), [...files].reverse(), { modeMask: 0o700, mtime: new Date('1999-12-31T23:59:59Z') });
    const one = await runFerry(['package', 'build', 'one', '--name', 'tool', '--version', '1.0.0', '--out', 'o1'], { cwd: tmp });
    const two = await runFerry(['package', 'build', 'two', '--name', 'tool', '--version', '1.0.0', '--out', 'o2'], { cwd: tmp });
    expect([one.code, two.code]).to.deep.equal([0, 0]);
    expect(printedSha(one.stdout)).to.equal(printedSha(two.stdout));
  });

  it('gives another sha256 when a file becomes executable (the one mode bit kept)', async () => {
    await makeFolder(path.join(tmp, 'one'), files);
    await makeFolder(path.join(tmp, 'two'), files);
    await chmod(path.join(tmp, 'two', 'payload/share/notes.txt'), 0o755);
    const one = await runFerry(['package', 'build', 'one', '--name', 'tool', '--version', '1.0.0', '--out', 'o1'], { cwd: tmp });
    const two = await runFerry(['package', 'build', 'two', '--name', 'tool', '--version', '1.0.0', '--out', 'o2'], { cwd: tmp });
    expect(printedSha(one.stdout)).not.to.equal(printedSha(two.stdout));
  });

  it('does not pack the artifact into itself when --out is the package folder', async () => {
    await makeFolder(path.join(tmp, 'src'), files);
    const first = await runFerry(['package', 'build', '.', '--name', 'tool', '--version', '1.0.0', '--out', '.'], { cwd: path.join(tmp, 'src') });
    const second = await runFerry(['package', 'build', '.', '--name', 'tool', '--version', '1.0.0', '--out', '.'], { cwd: path.join(tmp, 'src') });
    expect([first.code, second.code]).to.deep.equal([0, 0]);
    expect(printedSha(first.stdout)).to.equal(printedSha(second.stdout));
  });

  it('splits --install/--uninstall/--detect into argv like a shell, without expanding', async () => {
    await makeFolder(
      path.join(tmp, 'src'),
      files.filter((f) => !f.path.endsWith('.sh')),
    );
    const r = await runFerry(
      [
        'package',
        'build',
        'src',
        '--name',
        'tool',
        '--version',
        '2.0.0-rc.1',
        '--install',
        `sh -c 'cp -R payload "$FERRY_INSTALL_ROOT/opt/tool"'`,
        '--uninstall',
        'rm  -rf "/opt/my tool"',
        '--detect',
        'test -f /opt/tool/VERSION',
      ],
      { cwd: tmp },
    );
    expect(r.code).to.equal(0);
    const spec = (parse(r.stdout) as { spec: Record<string, unknown> }).spec;
    expect(spec.install).to.deep.equal({ command: ['sh', '-c', 'cp -R payload "$FERRY_INSTALL_ROOT/opt/tool"'] });
    expect(spec.uninstall).to.deep.equal({ command: ['rm', '-rf', '/opt/my tool'] });
    expect(spec.detect).to.deep.equal({ command: ['test', '-f', '/opt/tool/VERSION'] });
  });

  const sourceCases = [
    { name: 'no --out: source omitted', args: [], source: undefined, note: true },
    { name: '--out under the current directory: the relative path', args: ['--out', 'repo/artifacts'], source: 'repo/artifacts/tool-1.0.0.tar.gz', note: false },
    { name: '--out outside the current directory: source omitted', args: ['--out', '../elsewhere'], source: undefined, note: true },
    { name: '--source URL: as given', args: ['--out', 'a', '--source', 'https://cdn.example.com/tool.tar.gz'], source: 'https://cdn.example.com/tool.tar.gz', note: false },
    { name: '--no-source: omitted', args: ['--out', 'a', '--no-source'], source: undefined, note: true },
  ];
  for (const c of sourceCases) {
    it(`spec.artifact.source: ${c.name}`, async () => {
      await makeFolder(path.join(tmp, 'work', 'src'), files);
      const r = await runFerry(['package', 'build', 'src', '--name', 'tool', '--version', '1.0.0', ...c.args], { cwd: path.join(tmp, 'work') });
      expect(r.code).to.equal(0);
      expect((parse(r.stdout) as { spec: { artifact: { source?: string } } }).spec.artifact.source).to.equal(c.source);
      expect(r.stderr.includes('note: no spec.artifact.source')).to.equal(c.note);
    });
  }

  const usageCases = [
    { name: 'no --name', args: ['src', '--version', '1.0.0'], stderr: "required option '--name <N>' not specified" },
    { name: 'an upper-case name', args: ['src', '--name', 'Tool', '--version', '1'], stderr: "--name 'Tool' is not valid: use lower-case letters" },
    { name: 'a name over 63 characters', args: ['src', '--name', 'a'.repeat(64), '--version', '1'], stderr: 'at most 63 characters' },
    { name: 'a version with a slash', args: ['src', '--name', 'tool', '--version', '1/2'], stderr: "--version '1/2' is not valid: use digits separated by dots" },
    { name: 'a version starting with v', args: ['src', '--name', 'tool', '--version', 'v1.0'], stderr: "--version 'v1.0' is not valid" },
    { name: 'a missing folder', args: ['nope', '--name', 'tool', '--version', '1'], stderr: 'package folder nope does not exist' },
    { name: 'no install.sh and no --install', args: ['bare', '--name', 'tool', '--version', '1'], stderr: 'bare has no install.sh; add one' },
    { name: 'an unclosed quote', args: ['src', '--name', 'tool', '--version', '1', '--install', "sh -c 'oops"], stderr: "has an unclosed ' quote" },
    { name: 'an empty --install', args: ['src', '--name', 'tool', '--version', '1', '--install', '  '], stderr: '--install is empty' },
    {
      name: 'a --source escaping the repo',
      args: ['src', '--name', 'tool', '--version', '1', '--source', '../x.tar.gz'],
      stderr: "--source '../x.tar.gz' must be a path inside the manifest repo",
    },
  ];
  for (const c of usageCases) {
    it(`exits 2 with a plain message on ${c.name}`, async () => {
      await makeFolder(path.join(tmp, 'src'), files);
      await mkdir(path.join(tmp, 'bare'));
      const r = await runFerry(['package', 'build', ...c.args], { cwd: tmp });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain(c.stderr);
      expect(r.stderr).not.to.match(/\n\s+at /);
      expect(r.stdout).to.equal('');
    });
  }

  const linkCases = [
    { name: 'a relative symlink out of the folder', target: '../../secret', stderr: 'symlink payload/leak -> ../../secret points outside the package folder' },
    { name: 'an absolute symlink', target: '/etc/passwd', stderr: 'symlink payload/leak -> /etc/passwd is absolute' },
  ];
  for (const c of linkCases) {
    it(`refuses ${c.name} and writes no artifact`, async () => {
      await makeFolder(path.join(tmp, 'src'), files);
      await writeFile(path.join(tmp, 'secret'), 'secret\n');
      await symlink(c.target, path.join(tmp, 'src', 'payload', 'leak'));
      const r = await runFerry(['package', 'build', 'src', '--name', 'tool', '--version', '1.0.0', '--out', 'out'], { cwd: tmp });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain(c.stderr);
      expect(await readdir(path.join(tmp, 'out'))).to.deep.equal([]);
    });
  }

  it('keeps a symlink that stays inside the folder', async () => {
    await makeFolder(path.join(tmp, 'src'), files);
    await symlink('../share/notes.txt', path.join(tmp, 'src', 'payload', 'bin', 'notes'));
    const r = await runFerry(['package', 'build', 'src', '--name', 'tool', '--version', '1.0.0', '--out', '.'], { cwd: tmp });
    expect(r.code).to.equal(0);
    const links = await tarEntries(path.join(tmp, 'tool-1.0.0.tar.gz'), (e) => (e.type === 'SymbolicLink' ? `${e.path} -> ${e.linkpath}` : undefined));
    expect(links).to.deep.equal(['payload/bin/notes -> ../share/notes.txt']);
  });
});
