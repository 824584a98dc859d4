/**
 * What the agent wrote may be used without checking it again only within the boot it was written
 * in. The downloader verifies sha256 on the bytes as they go to the file and does not fsync
 * (download.ts), nor does extraction: until the machine restarts, the page cache serves exactly
 * what was written, but after a power cut a renamed file can be short or hold zeros. So a
 * finished download, or an unpacked package folder, gets a record beside it (`PATH.verified`)
 * of the boot it was made in; a file from another boot (or with no record, or changed since) is
 * hashed again before use, and such a folder is unpacked again. The record itself is not synced
 * either: losing it only costs one more check.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { pipeline } from 'node:stream/promises';

interface VerifiedRecord {
  readonly boot: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export type ContentCheck =
  /** Verified in this boot and unchanged since. */
  | 'trusted'
  /** Hashed again now, and right. */
  | 'reverified'
  | 'missing'
  /** Hashed again now and wrong: the file is gone. */
  | 'corrupt';

let bootId: Promise<string | undefined> | undefined;

/** Linux's id of this boot; undefined elsewhere (then every file from an earlier run is hashed again). */
function currentBoot(): Promise<string | undefined> {
  bootId ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (s) => s.trim() || undefined,
    () => undefined,
  );
  return bootId;
}

const recordPath = (path: string) => `${path}.verified`;

/** Records that `path` (a file or a folder) was verified in this boot (call after it was renamed into place). */
export async function markVerified(path: string): Promise<void> {
  const boot = await currentBoot();
  if (boot === undefined) return;
  const s = await stat(path);
  const record: VerifiedRecord = { boot, size: s.size, mtimeMs: s.mtimeMs };
  await writeFile(recordPath(path), JSON.stringify(record), { mode: 0o600 });
}

/** True when `path` was recorded verified in this boot and has not changed since. */
export async function verifiedThisBoot(path: string): Promise<boolean> {
  const s = await stat(path).catch(() => undefined);
  return s !== undefined && recordedThisBoot(path, s);
}

async function recordedThisBoot(path: string, s: Stats): Promise<boolean> {
  const boot = await currentBoot();
  if (boot === undefined) return false;
  const record = await readFile(recordPath(path), 'utf8')
    .then((text) => JSON.parse(text) as Partial<VerifiedRecord>)
    .catch(() => undefined);
  return record?.boot === boot && record.size === s.size && record.mtimeMs === s.mtimeMs;
}

/** Whether `path` holds the content with this sha256 and size, hashing it again unless it was verified in this boot. */
export async function checkContent(path: string, sha256: string, size: number): Promise<ContentCheck> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isFile()) return 'missing';
  if (s.size === size && (await recordedThisBoot(path, s))) return 'trusted';
  if (s.size === size && (await sha256File(path)) === sha256.toLowerCase()) {
    await markVerified(path);
    return 'reverified';
  }
  await rm(path, { force: true });
  await rm(recordPath(path), { force: true });
  return 'corrupt';
}

/** Hex sha256 of a file's bytes. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}
