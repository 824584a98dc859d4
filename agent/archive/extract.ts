/**
 * Safe extraction of a verified `.tar.gz` artifact into a versioned folder (DESIGN §5).
 * Nothing lands outside the folder, and the folder appears whole or not at all.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type ReadEntry, Unpack } from 'tar';
import { formatBytes } from '../../core/units/bytes.js';
import { verifyTree } from './contained.js';
import { EntryChecker } from './entry-check.js';

export type ExtractResult = { readonly ok: true; readonly dir: string; readonly entries: number } | { readonly ok: false; readonly reason: string };

/** Bounds on what an archive may unpack to. */
export interface ExtractLimits {
  /** Most bytes of file content (the Package's `spec.artifact.unpackedSize`); absent: not bounded. */
  readonly maxBytes?: number;
}

/** Entry types whose content is written as a file of `size` bytes. */
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/**
 * Extracts `tarGzPath` into a fresh temporary sibling of `destDir`, checks it, then renames it
 * to `destDir` (replacing whatever was there, never following a link). Any absolute path, `..`,
 * link pointing out, device or FIFO fails the whole extraction and leaves nothing behind.
 * Ownership is not restored and setuid/setgid/sticky bits are dropped. The archive is streamed
 * from disk, never held in memory; with `limits.maxBytes` the extraction stops at the first entry
 * header that brings the content past it, before that entry is written.
 */
export async function extractArchive(tarGzPath: string, destDir: string, limits: ExtractLimits = {}): Promise<ExtractResult> {
  const parent = dirname(destDir);
  let temp: string | undefined;
  let input: ReadStream | undefined;
  let tooLarge: string | undefined;
  try {
    await mkdir(parent, { recursive: true });
    temp = await mkdtemp(join(parent, `.${basename(destDir)}.extract-`));
    const checker = new EntryChecker();
    const refused: string[] = [];
    let entries = 0;
    let bytes = 0;
    const unpack: Unpack = new Unpack({
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
        if (refused.length > 0 || tooLarge !== undefined) return false;
        if (FILE_TYPES.has(e.type)) bytes += e.size ?? 0;
        if (limits.maxBytes !== undefined && bytes > limits.maxBytes) {
          tooLarge =
            `archive unpacks to more than its declared unpacked size of ${formatBytes(limits.maxBytes)} (spec.artifact.unpackedSize): ` +
            `${e.path} (${formatBytes(e.size ?? 0)}) brings it to ${formatBytes(bytes)}; refused before writing it`;
          unpack.abort(new Error(tooLarge));
          return false;
        }
        if (typeof e.mode === 'number') e.mode &= 0o777;
        entries++;
        return true;
      },
    });
    await new Promise<void>((resolve, reject) => {
      // Small reads: the inflater expands each read at once, so a read of a bomb (up to 1:1032) stays a few MiB.
      input = createReadStream(tarGzPath, { highWaterMark: 16 * 1024 });
      unpack.on('abort', () => input?.destroy());
      input.on('error', reject);
      unpack.on('error', reject);
      unpack.on('close', () => resolve());
      input.pipe(unpack as unknown as NodeJS.WritableStream);
    });
    if (refused.length > 0) return { ok: false, reason: `unsafe archive: ${refused[0]}` };
    const problems = await verifyTree(temp);
    if (problems.length > 0) return { ok: false, reason: `unsafe archive: ${problems[0]}` };
    await replaceDirectory(temp, destDir);
    temp = undefined;
    return { ok: true, dir: destDir, entries };
  } catch (e) {
    if (tooLarge !== undefined) return { ok: false, reason: tooLarge };
    return { ok: false, reason: `cannot extract ${basename(tarGzPath)}: ${(e as Error).message}` };
  } finally {
    (input as ReadStream | undefined)?.destroy();
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
