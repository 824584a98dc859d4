/**
 * Reads the manifests of a directory as they were at one git revision, straight from the
 * commit's tree (the working tree is never touched): the base and head of `ferry plan --base`.
 */
import { stat } from 'node:fs/promises';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { ManifestFile } from '../../core/manifest/types.js';
import { listManifestBlobs, readManifestBlobs, treeAt } from './git-tree.js';

/** Why a revision could not be read; `message` says what to do next. */
export type GitRevisionProblem = 'no-directory' | 'not-a-repository' | 'bad-revision' | 'git-failed';

/** A revision that cannot be read: a bad name, or a directory outside any repository. */
export class GitRevisionError extends Error {
  constructor(
    message: string,
    readonly problem: GitRevisionProblem,
  ) {
    super(message);
    this.name = 'GitRevisionError';
  }
}

/** The manifests at one revision: `REV@sha1:<commit>` and the files, paths relative to DIR, sorted. */
export interface RevisionManifests {
  readonly revision: string;
  readonly commit: string;
  readonly files: ManifestFile[];
}

function gitMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-2)
    .join(' ');
}

/** Where DIR is: its repository's top level and its path inside it (`` or `a/b`). */
async function locate(dir: string): Promise<{ git: SimpleGit; top: string; prefix: string }> {
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new GitRevisionError(`'${dir}' is not a directory; pass the manifest directory`, 'no-directory');
  const here = simpleGit({ baseDir: dir });
  let top: string;
  let prefix: string;
  try {
    top = (await here.raw(['rev-parse', '--show-toplevel'])).trim();
    prefix = (await here.raw(['rev-parse', '--show-prefix'])).trim().replace(/\/$/, '');
  } catch (err) {
    throw new GitRevisionError(`'${dir}' is not inside a git repository (${gitMessage(err)}); --base and --head need the manifests in git`, 'not-a-repository');
  }
  return { git: simpleGit({ baseDir: top }), top, prefix };
}

/** The full commit id REV names in the repository, or a GitRevisionError saying what to try. */
async function resolveCommit(git: SimpleGit, top: string, rev: string): Promise<string> {
  if (rev === '' || rev.startsWith('-') || /[\s\0]/.test(rev)) {
    throw new GitRevisionError(`'${rev}' is not a git revision; name a branch, tag or commit such as main or origin/main`, 'bad-revision');
  }
  let commit = '';
  try {
    commit = (await git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`])).trim();
  } catch {
    commit = '';
  }
  if (!/^[0-9a-f]{40,64}$/.test(commit)) {
    throw new GitRevisionError(`unknown revision '${rev}' in the repository at ${top}; check the name, or fetch it first (git fetch origin)`, 'bad-revision');
  }
  return commit;
}

/** Every manifest file under `prefix` in `commit`'s tree, paths relative to `prefix`, sorted. */
async function readTree(git: SimpleGit, commit: string, prefix: string): Promise<ManifestFile[]> {
  const treeish = treeAt(commit, prefix);
  const type = await git.raw(['cat-file', '-t', treeish]).then(
    (t) => t.trim(),
    () => 'missing',
  );
  // The folder did not exist at that revision: it held no manifests then.
  if (type !== 'tree') return [];
  return readManifestBlobs(git, await listManifestBlobs(git, treeish));
}

/**
 * The manifests under DIR as they were at git revision REV (a branch, tag, commit or
 * `origin/main`) of the repository DIR is in. A folder that did not exist then yields no files.
 * Throws GitRevisionError when DIR is not in a repository or REV names no commit.
 */
export async function readManifestsAtRevision(dir: string, rev: string): Promise<RevisionManifests> {
  const { git, top, prefix } = await locate(dir);
  const commit = await resolveCommit(git, top, rev);
  try {
    const files = await readTree(git, commit, prefix);
    return { revision: `${rev}@sha1:${commit}`, commit, files };
  } catch (err) {
    throw new GitRevisionError(`cannot read '${prefix || '.'}' at ${rev} in ${top}: ${gitMessage(err)}`, 'git-failed');
  }
}
