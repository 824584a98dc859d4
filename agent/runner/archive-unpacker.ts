/**
 * The real Unpacker: safe extraction (archive/extract.ts) of the kept artifact into
 * `DATA/packages/NAME/VERSION-SHA8`, once per boot — a folder unpacked before a power cut may
 * have lost its files' contents (verified.ts), so it is unpacked again after a restart.
 */
import { stat } from 'node:fs/promises';
import { extractArchive } from '../archive/extract.js';
import { markVerified, verifiedThisBoot } from './transfer.js';
import { contentPath, packageDir } from './layout.js';
import type { FolderState, PackageRef, UnpackOutcome, Unpacker } from './unpacker.js';

export class ArchiveUnpacker implements Unpacker {
  constructor(private readonly dataDir: string) {}

  async unpacked(ref: PackageRef): Promise<string | undefined> {
    const dir = packageDir(this.dataDir, ref);
    return (await this.folder(dir)) === 'fresh' ? dir : undefined;
  }

  async folder(dir: string): Promise<FolderState> {
    const isDir = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) return 'missing';
    return (await verifiedThisBoot(dir)) ? 'fresh' : 'stale';
  }

  async unpack(ref: PackageRef): Promise<UnpackOutcome> {
    const dir = packageDir(this.dataDir, ref);
    const r = await extractArchive(contentPath(this.dataDir, ref.artifact), dir, ref.artifact.unpackedSize === undefined ? {} : { maxBytes: ref.artifact.unpackedSize });
    if (!r.ok) return r;
    await markVerified(dir);
    return { ok: true, dir };
  }
}
