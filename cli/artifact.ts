/**
 * Reproducible artifacts: a folder → a `.tar.gz` whose bytes depend only on the folder's
 * paths, contents and executable bits. Entries are sorted, owners are 0 with no names,
 * every mtime is fixed, modes are 0644/0755, hard links are stored as plain files, and the
 * gzip header carries no timestamp and a fixed OS byte.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants, createWriteStream, type Stats } from 'node:fs';
import { access, lstat, readdir, readlink, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGzip } from 'node:zlib';
import { Pack } from 'tar';
import { UserError } from './errors.js';

/** The mtime every entry carries (the tar header needs one; this one is the same everywhere). */
export const ARTIFACT_MTIME = new Date('2000-01-01T00:00:00Z');

export interface ArtifactInfo {
  /** Lower-case hex sha256 of the `.tar.gz` bytes. */
  readonly sha256: string;
  /** Size of the `.tar.gz` in bytes. */
  readonly size: number;
  /** The file written (as given). */
  readonly file: string;
  /** Number of tar entries (files, directories, symlinks). */
  readonly entries: number;
  /** Sum of the sizes of the regular files packed. */
  readonly contentBytes: number;
}

export interface BuildOptions {
  /** Called as content is packed, with bytes of file content read so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

interface Entry {
  /** POSIX path relative to the folder, no `./`, no trailing slash. */
  readonly rel: string;
  readonly stat: Stats;
}

const S_IFMT = 0o170000;

/**
 * Packs `dir` into `outFile` reproducibly and returns its sha256 and size.
 * The file is written under a temporary name and renamed when complete; `outFile` itself is
 * never packed even when it lies inside `dir`. Throws UserError for symlinks that point out of
 * the folder, special files, or an unreadable folder.
 */
export async function buildArtifact(dir: string, outFile: string, options: BuildOptions = {}): Promise<ArtifactInfo> {
  const root = path.resolve(dir);
  const rootStat = await lstat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new UserError(`${dir} is not a directory; give the folder that holds the package's files`);
  }
  const out = path.resolve(outFile);
  const entries = await collect(root, out);
  const statCache = new Map<string, Stats>();
  let total = 0;
  for (const e of entries) {
    statCache.set(path.join(root, e.rel), e.stat);
    if (e.stat.isFile()) total += e.stat.size;
  }

  let done = 0;
  const pack = new Pack({
    cwd: root,
    portable: true,
    noDirRecurse: true,
    mtime: ARTIFACT_MTIME,
    statCache,
    linkCache: new Map(),
    onWriteEntry: (entry) => {
      done += entry.stat?.isFile() ? entry.stat.size : 0;
      options.onProgress?.(done, total);
    },
  });
  for (const e of entries) pack.add(e.rel);
  pack.end();

  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const partial = `${out}.partial-${process.pid}`;
  try {
    await pipeline(pack, createGzip({ level: zlibConstants.Z_BEST_COMPRESSION }), normaliseGzipHeader(), tap, createWriteStream(partial, { mode: 0o644 }));
    await rename(partial, out);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  options.onProgress?.(total, total);
  return { sha256: hash.digest('hex'), size, file: outFile, entries: entries.length, contentBytes: total };
}

/** Every entry under root, sorted by UTF-8 bytes of the path (a parent before its children). */
async function collect(root: string, skip: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = await readdir(abs).catch((err: NodeJS.ErrnoException) => {
      throw new UserError(`cannot read ${rel === '' ? 'the package folder' : rel} (${err.code ?? err.message}); fix its permissions`);
    });
    for (const name of names) {
      const childAbs = path.join(abs, name);
      if (childAbs === skip || childAbs.startsWith(`${skip}.partial-`)) continue;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const stat = await lstat(childAbs);
      if (stat.isSymbolicLink()) {
        await checkLink(root, childAbs, childRel);
      } else if (stat.isFile()) {
        await access(childAbs, fsConstants.R_OK).catch(() => {
          throw new UserError(`cannot read ${childRel}; fix its permissions or remove it from the package folder`);
        });
      } else if (!stat.isDirectory()) {
        throw new UserError(`${childRel} is not a regular file, directory or symlink; remove it from the package folder`);
      }
      out.push({ rel: childRel, stat: normalise(stat) });
      if (stat.isDirectory()) await walk(childAbs, childRel);
    }
  };
  await walk(root, '');
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.rel), Buffer.from(b.rel)));
}

/** Refuses a symlink whose target is absolute or resolves outside the package folder. */
async function checkLink(root: string, abs: string, rel: string): Promise<void> {
  const target = await readlink(abs);
  if (path.isAbsolute(target)) {
    throw new UserError(`symlink ${rel} -> ${target} is absolute; make it relative to a file inside the package folder, or copy the file in`);
  }
  const resolved = path.resolve(path.dirname(abs), target);
  const inside = path.relative(root, resolved);
  if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
    throw new UserError(`symlink ${rel} -> ${target} points outside the package folder; copy the file into the folder instead`);
  }
}

/** The stat tar sees: type kept, mode 0644/0755, owner 0, fixed times, one link. */
function normalise(stat: Stats): Stats {
  const type = stat.mode & S_IFMT;
  const executable = stat.isDirectory() || stat.isSymbolicLink() || (stat.mode & 0o111) !== 0;
  const fixed = Object.assign(Object.create(Object.getPrototypeOf(stat) as object) as Stats, stat);
  fixed.mode = type | (executable ? 0o755 : 0o644);
  fixed.uid = 0;
  fixed.gid = 0;
  fixed.nlink = 1;
  fixed.dev = 0;
  fixed.ino = 0;
  fixed.mtime = ARTIFACT_MTIME;
  fixed.atime = ARTIFACT_MTIME;
  fixed.ctime = ARTIFACT_MTIME;
  fixed.birthtime = ARTIFACT_MTIME;
  return fixed;
}

/**
 * Rewrites the 10-byte gzip header so it is the same on every platform: no mtime (bytes 4–7)
 * and OS = 3 (Unix, byte 9); zlib writes another OS code on some platforms. The header is
 * not covered by the gzip CRC, so the stream stays valid.
 */
function normaliseGzipHeader(): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (offset < 10) {
        const copy = Buffer.from(chunk);
        for (let i = 0; i < copy.length && offset + i < 10; i++) {
          const at = offset + i;
          if (at >= 4 && at <= 7) copy[i] = 0;
          if (at === 9) copy[i] = 3;
        }
        offset += chunk.length;
        cb(null, copy);
        return;
      }
      offset += chunk.length;
      cb(null, chunk);
    },
  });
}
