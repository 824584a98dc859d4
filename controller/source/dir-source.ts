import { createHash } from 'node:crypto';
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, join, resolve, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { watch, type FSWatcher } from 'chokidar';
import type { ManifestFile } from '../../core/manifest/types.js';
import { readManifestDir } from './manifest-dir.js';
import { PollingSource, type Fetched, type PollingSourceOptions } from './polling-source.js';
import { repoFilePath, type SourceStatus } from './source.js';

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

  /**
   * The file as it is on disk now (a directory has no history: `revision` is not consulted),
   * path relative to the directory; a link that leads out of the directory is refused.
   */
  override async readFile(_revision: string, path: string): Promise<Readable | undefined> {
    const full = join(this.dir, repoFilePath(path));
    let real: string;
    try {
      real = await realpath(full);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw err;
    }
    const inside = relative(await realpath(this.dir), real);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) throw new Error(`${path} leads out of the directory ${this.dir}`);
    const handle = await open(real, 'r');
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new Error(`${path} is not a file`);
    }
    return handle.createReadStream({ autoClose: true });
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
