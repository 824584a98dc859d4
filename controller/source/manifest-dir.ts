/**
 * The one filesystem walker for manifests: every `*.yaml`/`*.yml` under a directory, dot-folders
 * and dot-files skipped, paths relative with `/`, sorted. Files too large to be manifests are not
 * read whole: they are passed with their size so the loader reports them.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestFile } from '../../core/manifest/types.js';
import { isManifestPath } from './source.js';

/** Files above this are passed without content (the loader's own limit is far lower). */
const readLimit = 64 * 1024 * 1024;
const concurrency = 32;

/** Reads every manifest file under `dir`; rejects when `dir` cannot be read. Symlinked folders are not followed. */
export async function readManifestDir(dir: string): Promise<ManifestFile[]> {
  const paths: string[] = [];
  await walk(dir, '', paths);
  paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: (ManifestFile | undefined)[] = new Array(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      files[i] = await readOne(join(dir, paths[i]!), paths[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return files.filter((f): f is ManifestFile => f !== undefined);
}

async function walk(root: string, rel: string, out: string[]): Promise<void> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  const subdirs: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) subdirs.push(path);
    else if ((entry.isFile() || entry.isSymbolicLink()) && isManifestPath(path)) out.push(path);
  }
  for (const sub of subdirs) await walk(root, sub, out);
}

/** The file's bytes; only its size when over the read limit; undefined when it is not a file (a link to a folder). */
async function readOne(full: string, path: string): Promise<ManifestFile | undefined> {
  const info = await stat(full);
  if (!info.isFile()) return undefined;
  if (info.size > readLimit) return { path, content: new Uint8Array(0), size: info.size };
  return { path, content: await readFile(full) };
}
