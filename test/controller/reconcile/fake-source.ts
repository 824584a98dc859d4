/** An in-memory ManifestSource: the test decides which revision is current. */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ManifestFile } from '../../../core/manifest/types.js';
import type { ManifestSource, SnapshotListener, SourceSnapshot, SourceStatus } from '../../../controller/source/source.js';

export class FakeSource implements ManifestSource {
  private snapshot: SourceSnapshot | undefined;
  private readonly listeners = new Set<SnapshotListener>();
  /** Repository files by revision, then path (for content ingestion). */
  readonly repoFiles = new Map<string, Map<string, Uint8Array>>();

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  current(): SourceSnapshot | undefined {
    return this.snapshot;
  }
  onSnapshot(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async refresh(): Promise<void> {}
  async readFile(revision: string, path: string): Promise<Uint8Array | undefined> {
    return this.repoFiles.get(revision)?.get(path);
  }
  status(): SourceStatus {
    const condition = this.snapshot
      ? ({ type: 'Ready', status: 'True', reason: 'Succeeded', message: `fetched ${this.snapshot.revision}` } as const)
      : ({ type: 'Ready', status: 'Unknown', reason: 'WaitingForSource', message: 'no fetch has finished yet' } as const);
    return { kind: 'dir', url: 'memory', ready: this.snapshot !== undefined, condition, fetchFailuresTotal: 0, ...(this.snapshot ? { revision: this.snapshot.revision } : {}) };
  }

  /** Makes `files` the current revision and tells the listeners. */
  push(revision: string, files: readonly ManifestFile[], repoFiles: Readonly<Record<string, string | Uint8Array>> = {}): void {
    this.repoFiles.set(revision, new Map(Object.entries(repoFiles).map(([p, c]) => [p, typeof c === 'string' ? Buffer.from(c) : c])));
    this.snapshot = Object.freeze({ revision, files: Object.freeze([...files]), fetchedAt: new Date(0).toISOString() });
    for (const l of this.listeners) l(this.snapshot);
  }
}

/** Every manifest file of a fixture folder, as a source would read it. */
export async function fixtureFiles(name: string): Promise<ManifestFile[]> {
  const root = new URL(`../../fixtures/controller/${name}`, import.meta.url).pathname;
  const out: ManifestFile[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.ya?ml$/.test(entry.name)) continue;
    const full = join(entry.parentPath, entry.name);
    out.push({ path: relative(root, full).split('\\').join('/'), content: await readFile(full, 'utf8') });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}
