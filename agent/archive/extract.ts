/**
 * Safe extraction of a verified `.tar.gz` artifact into a versioned folder (DESIGN §5).
 * Nothing lands outside the folder, and the folder appears whole or not at all.
 */
import { lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { extract, type ReadEntry } from 'tar';
import { verifyTree } from './contained.js';
import { EntryChecker } from './entry-check.js';

export type ExtractResult = { readonly ok: true; readonly dir: string; readonly entries: number } | { readonly ok: false; readonly reason: string };

/**
 * Extracts `tarGzPath` into a fresh temporary sibling of `destDir`, checks it, then renames it
 * to `destDir` (replacing whatever was there, never following a link). Any absolute path, `..`,
 * link pointing out, device or FIFO fails the whole extraction and leaves nothing behind.
 * Ownership is not restored and setuid/setgid/sticky bits are dropped.
 */
export async function extractArchive(tarGzPath: string, destDir: string): Promise<ExtractResult> {
  const parent = dirname(destDir);
  let temp: string | undefined;
  try {
    await mkdir(parent, { recursive: true });
    temp = await mkdtemp(join(parent, `.${basename(destDir)}.extract-`));
    const checker = new EntryChecker();
    const refused: string[] = [];
    let entries = 0;
    await extract({
      file: tarGzPath,
      cwd: temp,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      unlink: false,
      filter: (_path, entry) => {
        const e = entry as ReadEntry;
        const problem = checker.check({ path: e.path, type: e.type, ...(e.linkpath ? { linkpath: e.linkpath } : {}) });
        if (problem) {
          refused.push(problem);
          return false;
        }
        if (refused.length > 0) return false;
        if (typeof e.mode === 'number') e.mode &= 0o777;
        entries++;
        return true;
      },
    });
    if (refused.length > 0) return { ok: false, reason: `unsafe archive: ${refused[0]}` };
    const problems = await verifyTree(temp);
    if (problems.length > 0) return { ok: false, reason: `unsafe archive: ${problems[0]}` };
    await replaceDirectory(temp, destDir);
    temp = undefined;
    return { ok: true, dir: destDir, entries };
  } catch (e) {
    return { ok: false, reason: `cannot extract ${basename(tarGzPath)}: ${(e as Error).message}` };
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}

/** Moves `from` to `to`; an existing `to` (of any kind, a link included) is moved aside and removed, not followed. */
async function replaceDirectory(from: string, to: string): Promise<void> {
  const existing = await lstat(to).catch(() => undefined);
  if (!existing) return rename(from, to);
  const aside = `${from}.old`;
  await rename(to, aside);
  await rename(from, to);
  await rm(aside, { recursive: true, force: true });
}
