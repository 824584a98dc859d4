import { createHash } from 'node:crypto';
import { resolve, relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { ManifestFile } from '../../core/manifest/types.js';
import { readManifestDir } from './manifest-dir.js';
import { PollingSource, type Fetched, type PollingSourceOptions } from './polling-source.js';
import type { SourceStatus } from './source.js';

export interface DirSourceOptions extends PollingSourceOptions {
  /** A plain directory of manifests (not a git repository): local development. */
  readonly dir: string;
  /** Quiet time after the last change before the directory is read again; default 200 ms. */
  readonly debounceMs?: number;
}

/**
 * Watches a directory with chokidar; each distinct content is a snapshot `dir@sha256:<hash>`.
 * It is also re-read every poll interval, in case the platform drops a file event.
 */
export class DirSource extends PollingSource {
  private readonly dir: string;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;

  constructor(private readonly dirOptions: DirSourceOptions) {
    super(dirOptions);
    this.dir = resolve(dirOptions.dir);
  }

  protected override async open(): Promise<void> {
    const watcher = watch(this.dir, {
      ignoreInitial: true,
      ignored: (path) => {
        const rel = relative(this.dir, path);
        return rel !== '' && rel.split(sep).some((segment) => segment.startsWith('.'));
      },
    });
    watcher.on('all', () => this.changed());
    watcher.on('error', (err) => this.options.logger.warn({ err, dir: this.dir }, 'source: watching the directory failed'));
    this.watcher = watcher;
    await new Promise<void>((ready) => watcher.once('ready', ready));
  }

  protected override async close(): Promise<void> {
    if (this.debounce) clearTimeout(this.debounce);
    await this.watcher?.close();
    this.watcher = undefined;
  }

  protected override async fetch(): Promise<Fetched> {
    const files = await readManifestDir(this.dir).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' || err.code === 'ENOTDIR' ? new Error(`directory ${this.dir} does not exist`) : err;
    });
    return { revision: `dir@sha256:${contentHash(files)}`, files: async () => files };
  }

  protected override describe(): Pick<SourceStatus, 'kind' | 'url'> {
    return { kind: 'dir', url: this.dir };
  }

  private changed(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.refresh(), this.dirOptions.debounceMs ?? 200);
    this.debounce.unref();
  }
}

/** sha256 over every file's path and content hash, in path order: the same files give the same revision. */
export function contentHash(files: readonly ManifestFile[]): string {
  const outer = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const inner = createHash('sha256').update(file.content).digest('hex');
    outer.update(`${file.path}\0${inner}\n`);
  }
  return outer.digest('hex');
}
