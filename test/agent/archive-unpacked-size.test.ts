/**
 * Extraction bounded by the Package's declared unpacked size (issue 15, item 8): an archive is
 * refused at the first entry header that brings its content past `spec.artifact.unpackedSize`,
 * before that entry is written, so a 1 GiB file of zeros (1 MiB compressed) costs neither the
 * gigabyte of disk nor the time to inflate it. The archives are made here, as raw tar headers.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { Header } from 'tar';
import { extractArchive } from '../../agent/archive/extract.js';

const MiB = 1024 * 1024;

function header(path: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  new Header({ path, type: 'File', size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }).encode(block, 0);
  return block;
}

/** A .tar.gz of files of zeros, written as concatenated gzip members (one per MiB of zeros, all the same) so a GiB costs no time to make. */
async function zerosTarGz(file: string, files: readonly [string, number][]): Promise<void> {
  const out = createWriteStream(file);
  const write = async (chunk: Buffer) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  const mebibyte = gzipSync(Buffer.alloc(MiB));
  for (const [path, size] of files) {
    await write(gzipSync(header(path, size)));
    for (let left = size; left > 0; left -= MiB) await write(left >= MiB ? mebibyte : gzipSync(Buffer.alloc(left)));
    const pad = (512 - (size % 512)) % 512;
    if (pad > 0) await write(gzipSync(Buffer.alloc(pad)));
  }
  await write(gzipSync(Buffer.alloc(1024)));
  out.end();
  await once(out, 'close');
}

describe('agent/archive extractArchive: the declared unpacked size', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ferry-unpacked-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('refuses a 1 GiB file of zeros at its header, leaving nothing behind', async () => {
    const file = join(root, 'zeros.tar.gz');
    await zerosTarGz(file, [['zeros.bin', 1024 * MiB]]);
    const dest = join(root, 'packages', 'zeros', '1.0.0');
    const rss = process.memoryUsage().rss;
    const result = await extractArchive(file, dest, { maxBytes: 4 * MiB });
    // Not timed; but the gigabyte is never inflated into memory (it took 1.2 GB before).
    expect(process.memoryUsage().rss - rss).to.be.below(256 * MiB);
    expect(result).to.deep.equal({
      ok: false,
      reason: 'archive unpacks to more than its declared unpacked size of 4 MiB (spec.artifact.unpackedSize): zeros.bin (1 GiB) brings it to 1 GiB; refused before writing it',
    });
    expect(existsSync(dest)).to.equal(false);
    expect(readdirSync(join(root, 'packages', 'zeros'))).to.deep.equal([]);
  });

  it('refuses at the file that brings the total past the size, and accepts exactly the size', async () => {
    const file = join(root, 'three.tar.gz');
    await zerosTarGz(file, [
      ['a.bin', MiB],
      ['b.bin', MiB],
      ['c.bin', 1000],
    ]);
    const over = await extractArchive(file, join(root, 'over'), { maxBytes: 2 * MiB + 999 });
    expect(over).to.deep.equal({
      ok: false,
      reason: 'archive unpacks to more than its declared unpacked size of 2 MiB (spec.artifact.unpackedSize): c.bin (1000 B) brings it to 2 MiB; refused before writing it',
    });
    expect(existsSync(join(root, 'over'))).to.equal(false);
    const exact = await extractArchive(file, join(root, 'exact'), { maxBytes: 2 * MiB + 1000 });
    expect(exact).to.deep.equal({ ok: true, dir: join(root, 'exact'), entries: 3 });
    expect(readdirSync(join(root, 'exact')).sort()).to.deep.equal(['a.bin', 'b.bin', 'c.bin']);
  });
});
