/**
 * A bundle on media: one file, or numbered volumes `FILE.001`, `FILE.002`… of at most a given
 * size (`--split`), written in order and read back as one stream.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';

/** The files of a bundle in order: `file` itself, or its volumes. */
export type BundleFiles = { readonly ok: true; readonly files: readonly string[]; readonly volumes: boolean } | { readonly ok: false; readonly reason: string };

const volumeName = (base: string, n: number): string => `${base}.${String(n).padStart(3, '0')}`;

/** Finds `file` or, for `FILE` or `FILE.001`, every volume; refuses when one is missing. */
export async function findBundleFiles(file: string): Promise<BundleFiles> {
  const base = /\.\d{3}$/.test(file) ? file.slice(0, -4) : file;
  if (base === file && (await isFile(file))) return { ok: true, files: [file], volumes: false };
  const dir = dirname(base);
  const prefix = `${basename(base)}.`;
  const numbers = (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.startsWith(prefix) && /^\d{3}$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)))
    .sort((a, b) => a - b);
  if (numbers.length === 0) return { ok: false, reason: `${file}: no such bundle (nor volumes ${volumeName(base, 1)}, …)` };
  const last = numbers[numbers.length - 1]!;
  const missing: string[] = [];
  for (let n = 1; n <= last; n++) if (!numbers.includes(n)) missing.push(volumeName(base, n));
  if (missing.length > 0) return { ok: false, reason: `volume ${missing.join(', ')} of ${base} is missing; copy every volume next to the others` };
  return { ok: true, files: numbers.map((n) => volumeName(base, n)), volumes: true };
}

/** The files one after another as one stream. */
export function concatFiles(files: readonly string[]): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  void (async () => {
    try {
      for (const f of files) {
        const input = createReadStream(f, { highWaterMark: 1 << 20 });
        input.pipe(out, { end: false });
        await finished(input);
      }
      out.end();
    } catch (e) {
      out.destroy(e as Error);
    }
  })();
  return out;
}

/**
 * Writes `source` to `file` (no `volumeSize`) or to volumes of at most `volumeSize` bytes; each
 * file appears (by rename) only once written whole. Returns the files written.
 */
export async function writeBundleFiles(source: Readable, file: string, volumeSize?: number): Promise<string[]> {
  const written: string[] = [];
  let n = 0;
  let current: { path: string; out: ReturnType<typeof createWriteStream>; bytes: number } | undefined;
  const open = () => {
    n += 1;
    const path = volumeSize === undefined ? file : volumeName(file, n);
    current = { path, out: createWriteStream(`${path}.part`), bytes: 0 };
  };
  const close = async () => {
    if (!current) return;
    const c = current;
    current = undefined;
    c.out.end();
    await finished(c.out);
    await rename(`${c.path}.part`, c.path);
    written.push(c.path);
  };
  const write = async (chunk: Buffer) => {
    const c = current!;
    if (!c.out.write(chunk)) await new Promise<void>((r) => c.out.once('drain', () => r()));
    c.bytes += chunk.length;
  };
  try {
    for await (const raw of source) {
      let chunk = raw as Buffer;
      while (chunk.length > 0) {
        if (!current) open();
        const room = volumeSize === undefined ? chunk.length : volumeSize - current!.bytes;
        const part = chunk.subarray(0, room);
        await write(part);
        chunk = chunk.subarray(part.length);
        if (volumeSize !== undefined && current!.bytes >= volumeSize) await close();
      }
    }
    if (!current && written.length === 0) open();
    await close();
    return written;
  } catch (e) {
    if (current) {
      const c = current;
      c.out.destroy();
      await rm(`${c.path}.part`, { force: true });
    }
    throw e;
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
