import { expect } from 'chai';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { extractArchive } from '../../agent/archive/extract.js';

interface RawEntry {
  readonly path: string;
  readonly type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  readonly linkpath?: string;
  readonly body?: string;
  readonly mode?: number;
}

/** A .tar.gz built from raw headers, so hostile entries are written exactly as given. */
function rawTarGz(entries: readonly RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const type = e.type ?? 'File';
    const block = Buffer.alloc(512);
    new Header({
      path: e.path,
      type,
      size: type === 'File' ? body.length : 0,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(e.linkpath !== undefined ? { linkpath: e.linkpath } : {}),
    }).encode(block, 0);
    blocks.push(block);
    if (type === 'File' && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

describe('agent/archive extractArchive', () => {
  let root: string;
  let packages: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ferry-tar-'));
    packages = join(root, 'data', 'packages', 'editor');
    outside = join(root, 'outside');
    mkdirSync(outside, { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function archive(entries: readonly RawEntry[]): string {
    const file = join(root, `a-${Math.random().toString(36).slice(2)}.tar.gz`);
    writeFileSync(file, rawTarGz(entries));
    return file;
  }

  it('extracts a good archive, keeps inside links, drops setuid bits', async () => {
    const file = archive([
      { path: 'bin/', type: 'Directory' },
      { path: 'bin/install.sh', body: 'echo hi\n', mode: 0o4755 },
      { path: 'lib/', type: 'Directory', mode: 0o2755 },
      { path: 'lib/data.txt', body: 'data' },
      { path: 'bin/data', type: 'SymbolicLink', linkpath: '../lib/data.txt' },
      { path: 'copy.txt', type: 'Link', linkpath: 'lib/data.txt' },
    ]);
    const dest = join(packages, '2.4.1-9f86d081');
    const result = await extractArchive(file, dest);
    expect(result).to.deep.equal({ ok: true, dir: dest, entries: 6 });
    expect(readFileSync(join(dest, 'bin/install.sh'), 'utf8')).to.equal('echo hi\n');
    expect(statSync(join(dest, 'bin/install.sh')).mode & 0o7777).to.equal(0o755);
    expect(statSync(join(dest, 'lib')).mode & 0o7000).to.equal(0);
    expect(readlinkSync(join(dest, 'bin/data'))).to.equal('../lib/data.txt');
    expect(readFileSync(join(dest, 'copy.txt'), 'utf8')).to.equal('data');
    expect(readdirSync(packages)).to.deep.equal(['2.4.1-9f86d081']);
  });

  const hostile: { name: string; entries: RawEntry[]; reason: RegExp }[] = [
    { name: 'an absolute path', entries: [{ path: `${'/'}tmp/ferry-evil-abs`, body: 'x' }], reason: /absolute path/ },
    { name: 'a ../ path', entries: [{ path: '../evil', body: 'x' }], reason: /'\.\.' in path/ },
    { name: 'a .. in the middle', entries: [{ path: 'a/../../evil', body: 'x' }], reason: /'\.\.' in path/ },
    { name: 'a symlink out', entries: [{ path: 'link', type: 'SymbolicLink', linkpath: '../../outside' }], reason: /points outside/ },
    { name: 'an absolute symlink', entries: [{ path: 'link', type: 'SymbolicLink', linkpath: '/etc/passwd' }], reason: /absolute path/ },
    { name: 'a hardlink out', entries: [{ path: 'h', type: 'Link', linkpath: '../outside/secret' }], reason: /'\.\.' in hard link target/ },
    { name: 'an absolute hardlink', entries: [{ path: 'h', type: 'Link', linkpath: '/etc/passwd' }], reason: /absolute hard link target/ },
    {
      name: 'a write through a symlink',
      entries: [
        { path: 'd/', type: 'Directory' },
        { path: 'd/l', type: 'SymbolicLink', linkpath: '..' },
        { path: 'd/l/x', body: 'x' },
      ],
      reason: /goes through the symbolic link d\/l/,
    },
    {
      name: 'a symlink that escapes through another symlink',
      entries: [
        { path: 'd/', type: 'Directory' },
        { path: 'm', type: 'SymbolicLink', linkpath: 'd/l/../x' },
        { path: 'd/l', type: 'SymbolicLink', linkpath: '..' },
      ],
      reason: /m: symbolic link points outside/,
    },
    { name: 'a character device', entries: [{ path: 'null', type: 'CharacterDevice' }], reason: /character device entries are not allowed/ },
    { name: 'a FIFO', entries: [{ path: 'pipe', type: 'FIFO' }], reason: /FIFO entries are not allowed/ },
  ];
  for (const c of hostile) {
    it(`refuses ${c.name} and leaves nothing behind`, async () => {
      const file = archive([{ path: 'ok.txt', body: 'fine' }, ...c.entries, { path: 'after.txt', body: 'x' }]);
      const result = await extractArchive(file, join(packages, '1.0.0-abcdef12'));
      expect(result.ok).to.equal(false);
      if (result.ok) return;
      expect(result.reason)
        .to.match(/^unsafe archive: /)
        .and.match(c.reason);
      expect(readdirSync(packages)).to.deep.equal([]);
      expect(readdirSync(outside)).to.deep.equal([]);
      expect(existsSync('/tmp/ferry-evil-abs')).to.equal(false);
    });
  }

  it('fails cleanly on a corrupt archive', async () => {
    const file = join(root, 'bad.tar.gz');
    writeFileSync(file, gzipSync(Buffer.from('not a tar archive at all'.repeat(40))));
    const result = await extractArchive(file, join(packages, '1.0.0-abcdef12'));
    expect(result.ok).to.equal(false);
    expect(readdirSync(packages)).to.deep.equal([]);
  });

  it('replaces an existing folder, and a symlink at the destination is replaced, not followed', async () => {
    const file = archive([{ path: 'new.txt', body: 'new' }]);
    const dest = join(packages, '1.0.0-abcdef12');
    mkdirSync(packages, { recursive: true });
    writeFileSync(join(outside, 'keep.txt'), 'keep');
    symlinkSync(outside, dest);
    const result = await extractArchive(file, dest);
    expect(result.ok).to.equal(true);
    expect(lstatSync(dest).isDirectory()).to.equal(true);
    expect(readdirSync(dest)).to.deep.equal(['new.txt']);
    expect(readdirSync(outside)).to.deep.equal(['keep.txt']);
    expect(readdirSync(packages)).to.deep.equal(['1.0.0-abcdef12']);
  });
});
