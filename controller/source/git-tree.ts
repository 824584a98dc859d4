/**
 * Reading manifest files straight from a git tree object (never from a checkout): what the
 * controller's mirror and `ferry plan --base` share.
 */
import type { SimpleGit } from 'simple-git';
import type { ManifestFile } from '../../core/manifest/types.js';
import { isManifestPath } from './source.js';

/** The mode git records for a symbolic link. */
export const linkMode = '120000';

/** Names the tree of folder `path` (`` for the root, else `a/b`) in `commit`. */
export function treeAt(commit: string, path: string): string {
  return path === '' ? `${commit}^{tree}` : `${commit}:${path}`;
}

/** One record of `git ls-tree -z`: `blob`, `tree` or `commit` (a submodule) at `path`. */
export interface TreeEntry {
  readonly mode: string;
  readonly type: string;
  readonly oid: string;
  readonly path: string;
}

/** Parses one NUL-separated record of `git ls-tree -z`; undefined when it is not one. */
export function parseTreeEntry(record: string): TreeEntry | undefined {
  const match = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(record);
  if (!match) return undefined;
  const [, mode, type, oid, path] = match as unknown as [string, string, string, string, string];
  return { mode, type, oid, path };
}

/**
 * The manifest blobs in `treeish` and below it, paths relative to it, sorted. Links, folders,
 * submodules and files that are not manifests are skipped. Rejects when git cannot list the tree.
 */
export async function listManifestBlobs(git: SimpleGit, treeish: string): Promise<TreeEntry[]> {
  const listing = await git.raw(['ls-tree', '-r', '-z', treeish]);
  const blobs: TreeEntry[] = [];
  for (const record of listing.split('\0')) {
    const entry = parseTreeEntry(record);
    if (entry?.type === 'blob' && entry.mode !== linkMode && isManifestPath(entry.path)) blobs.push(entry);
  }
  return blobs.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The content of each blob, in the same order; rejects when git cannot read one. */
export function readManifestBlobs(git: SimpleGit, blobs: readonly TreeEntry[]): Promise<ManifestFile[]> {
  return Promise.all(
    blobs.map(async ({ path, oid }) => {
      const content = (await git.binaryCatFile(['blob', oid])) as Buffer;
      return Object.freeze({ path, content: new Uint8Array(content) });
    }),
  );
}
