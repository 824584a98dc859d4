/**
 * Per-chunk sha256s of stored artifacts, for the signed plans of multicast installs: a receiver
 * drops a chunk that fails its hash at once, so a forged datagram costs one chunk of repair, not a
 * whole download (docs/multicast.md). Computed once per artifact from the content store, kept in a
 * sidecar file beside it (`ROOT/ab/SHA256.chunks`, never served: content paths are digests only)
 * and in memory; content stored before this existed gets its sidecar on first use.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { ArtifactChunks } from '../../core/plan/types.js';
import { type ContentStore, isSha256 } from './content-store.js';

/** 1 MiB: a 100 MiB artifact carries 100 hashes (about 6.6 KB of plan). */
export const CHUNK_SIZE = 1 << 20;

/** The sha256 of each `chunkSize`-byte piece of `source`, in order (the last may be short; none for empty content). */
export async function chunkHashes(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, chunkSize = CHUNK_SIZE): Promise<ArtifactChunks> {
  const sha256: string[] = [];
  let hash = createHash('sha256');
  let filled = 0;
  for await (const piece of source) {
    let at = 0;
    while (at < piece.length) {
      const take = Math.min(chunkSize - filled, piece.length - at);
      hash.update(piece.subarray(at, at + take));
      at += take;
      filled += take;
      if (filled === chunkSize) {
        sha256.push(hash.digest('hex'));
        hash = createHash('sha256');
        filled = 0;
      }
    }
  }
  if (filled > 0) sha256.push(hash.digest('hex'));
  return { size: chunkSize, sha256 };
}

/** The chunk hashes of stored artifacts: from memory, else the sidecar, else computed (and saved). */
export class ChunkIndex {
  private readonly known = new Map<string, Promise<ArtifactChunks | undefined>>();

  constructor(
    private readonly store: ContentStore,
    readonly chunkSize = CHUNK_SIZE,
  ) {}

  /** The chunks of stored content `sha256` of `size` bytes; undefined when it is not stored with that size. */
  get(sha256: string, size: number): Promise<ArtifactChunks | undefined> {
    if (!isSha256(sha256)) return Promise.resolve(undefined);
    let p = this.known.get(sha256);
    if (p === undefined) {
      p = this.load(sha256, size);
      this.known.set(sha256, p);
      // A miss (not stored yet) is asked again next time.
      void p.then((c) => c === undefined && this.known.get(sha256) === p && this.known.delete(sha256));
    }
    return p.then((c) => (c !== undefined && expectedCount(size, c.size) === c.sha256.length ? c : undefined));
  }

  private async load(sha256: string, size: number): Promise<ArtifactChunks | undefined> {
    const info = await this.store.stat(sha256);
    if (info === undefined || info.size !== size) return undefined;
    const sidecar = `${this.store.path(sha256)}.chunks`;
    const saved = await readSidecar(sidecar, size, this.chunkSize);
    if (saved !== undefined) return saved;
    const stream = await this.store.open(sha256);
    if (stream === undefined) return undefined;
    const chunks = await chunkHashes(stream, this.chunkSize);
    const temp = `${sidecar}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await writeFile(temp, JSON.stringify(chunks));
      await rename(temp, sidecar);
    } catch {
      // Not saved (a full disk): computed again after a restart, still correct now.
      await rm(temp, { force: true });
    }
    return chunks;
  }
}

function expectedCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** A sidecar that is whole and matches this chunk size and content size; anything else is computed again. */
async function readSidecar(path: string, size: number, chunkSize: number): Promise<ArtifactChunks | undefined> {
  try {
    const c = JSON.parse(await readFile(path, 'utf8')) as ArtifactChunks;
    const ok = c.size === chunkSize && Array.isArray(c.sha256) && c.sha256.length === expectedCount(size, chunkSize) && c.sha256.every((h) => typeof h === 'string' && isSha256(h));
    return ok ? { size: c.size, sha256: c.sha256 } : undefined;
  } catch {
    return undefined;
  }
}
