/** Chooses the source for `--repo`: a git repository (URL, bare or working copy) or a plain directory. */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isRemoteUrl } from './git-mirror.js';

/** `git` for a URL or a local repository's top folder; `dir` for any other existing directory. */
export async function sourceKind(repo: string): Promise<'git' | 'dir'> {
  if (isRemoteUrl(repo)) return 'git';
  const exists = (p: string) =>
    stat(p).then(
      () => true,
      () => false,
    );
  const info = await stat(repo).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`--repo ${repo}: no such directory, and not a git URL`);
  if (await exists(join(repo, '.git'))) return 'git';
  const bare = (await exists(join(repo, 'HEAD'))) && (await exists(join(repo, 'objects'))) && (await exists(join(repo, 'refs')));
  return bare ? 'git' : 'dir';
}
