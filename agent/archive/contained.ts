/**
 * After extraction, checks on the real file system that every symbolic link resolves inside
 * the directory (links that chain through other links included) and drops setuid/setgid/sticky bits.
 * Never follows a link: resolution reads links with readlink and walks them itself.
 */
import { chmod, lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

/** Returns the problems found (paths relative to `root`); an empty list means the tree is safe. */
export async function verifyTree(root: string): Promise<string[]> {
  const problems: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(root, rel))) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(root, child));
      if (st.isSymbolicLink()) {
        if (!(await resolvesInside(root, child))) problems.push(`${child}: symbolic link points outside the package`);
      } else if (st.isDirectory()) {
        if (st.mode & 0o7000) await chmod(join(root, child), st.mode & 0o777);
        await walk(child);
      } else if (st.isFile()) {
        if (st.mode & 0o7000) await chmod(join(root, child), st.mode & 0o777);
      } else {
        problems.push(`${child}: special file`);
      }
    }
  };
  await walk('');
  return problems;
}

/** Resolves the link at `rel` step by step inside `root`; false when any step climbs above it. */
async function resolvesInside(root: string, rel: string): Promise<boolean> {
  let budget = 40;
  // Components still to walk, and the resolved directory so far (as components below root).
  let pending = (await readlink(join(root, rel))).split('/');
  if (pending[0] === '') return false; // absolute
  const at = rel.split('/').slice(0, -1);
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (at.length === 0) return false;
      at.pop();
      continue;
    }
    const candidate = [...at, part];
    const st = await lstat(join(root, ...candidate)).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      if (--budget < 0) return false;
      const target = await readlink(join(root, ...candidate));
      if (posix.isAbsolute(target)) return false;
      pending = [...target.split('/'), ...pending];
      continue;
    }
    at.push(part);
  }
  return true;
}
