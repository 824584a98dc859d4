/**
 * The one filesystem walker for manifests: every `*.yaml`/`*.yml` under a directory, dot-folders
 * and dot-files skipped, paths relative with `/`, sorted. Files too large to be manifests are not
 * read whole: they are passed with their size so the loader reports them.
 *
 * The reads are synchronous: manifest files are small, and a thousand of them are read in a
 * fraction of the time the promise API spends on its own bookkeeping (a file handle, five
 * round trips through the thread pool per file), which was a tenth of a `ferry validate`.
 */
import { closeSync, fstatSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ManifestFile } from '../../core/manifest/types.js';
import { isManifestPath } from './source.js';

/** Files above this are passed without content (the loader's own limit is far lower). */
const readLimit = 64 * 1024 * 1024;

/** Reads every manifest file under `dir`; rejects when `dir` cannot be read. Symlinked folders are not followed. */
export async function readManifestDir(dir: string): Promise<ManifestFile[]> {
  const found: Found[] = [];
  walk(dir, '', found);
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const files: ManifestFile[] = [];
  for (const { path, link } of found) {
    let file: ManifestFile | undefined;
    try {
      file = readOne(join(dir, path), path, link);
    } catch (err) {
      file = { path, content: new Uint8Array(0), unreadable: describeReadError(err, link) };
    }
    if (file !== undefined) files.push(file);
  }
  return files;
}

/** A manifest path, and whether it is a symbolic link (to be checked before it is opened). */
type Found = { readonly path: string; readonly link: boolean };

function walk(root: string, rel: string, out: Found[]): void {
  const entries = readdirSync(join(root, rel), { withFileTypes: true });
  const subdirs: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) subdirs.push(path);
    else if ((entry.isFile() || entry.isSymbolicLink()) && isManifestPath(path)) out.push({ path, link: entry.isSymbolicLink() });
  }
  for (const sub of subdirs) walk(root, sub, out);
}

/** The file's bytes; only its size when over the read limit; undefined when it is not a file (a link to a folder). */
function readOne(full: string, path: string, link: boolean): ManifestFile | undefined {
  // A link may lead to a folder or a pipe, which is not opened (opening a pipe waits for a writer).
  if (link && !statSync(full).isFile()) return undefined;
  const fd = openSync(full, 'r');
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return undefined;
    if (info.size > readLimit) return { path, content: new Uint8Array(0), size: info.size };
    return { path, content: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

/** A read failure in words, for a problem at the file's 1:1 (never a stack trace). */
function describeReadError(err: unknown, link: boolean): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' && link) return 'it is a symbolic link to something that does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  return (err as Error).message ?? String(err);
}
