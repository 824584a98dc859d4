/**
 * Chunks of artifacts recently read for hosts, shared by every response reading the same chunk:
 * when a site's hosts download one artifact at once they move through it together, so each 1 MiB
 * chunk is read from disk and allocated once for all of them instead of once per host (the
 * relay's serving cost was reads and garbage collection of those per-host copies). Bounded in
 * bytes, least recently used first out; a chunk read is shared while under way. A chunk is
 * immutable once read: keys name the cache entry and its transfer generation.
 */
export class ChunkPool {
  private readonly chunks = new Map<string, Promise<Buffer>>();
  private readonly sizes = new Map<string, number>();
  private used = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** The chunk `key` (`bytes` long), read with `read` unless pooled or being read. */
  get(key: string, bytes: number, read: () => Promise<Buffer>): Promise<Buffer> {
    const known = this.chunks.get(key);
    if (known) {
      this.chunks.delete(key);
      this.chunks.set(key, known);
      return known;
    }
    const loading = read();
    this.chunks.set(key, loading);
    this.sizes.set(key, bytes);
    this.used += bytes;
    loading.catch(() => this.drop(key));
    while (this.used > this.maxBytes && this.chunks.size > 1) this.drop(this.chunks.keys().next().value!);
    return loading;
  }

  private drop(key: string): void {
    if (!this.chunks.delete(key)) return;
    this.used -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }
}
