/** The OS package list (`dpkg-query` or `rpm`), cached because listing it takes a while. */
import { systemClock, type Clock } from '../../lib/clock.js';
import { execFile } from 'node:child_process';
import type { SoftwareItem } from '../../core/plan/types.js';

export interface OsPackageLister {
  readonly source: string;
  readonly argv: readonly string[];
}

/**
 * One per package manager, in the order tried. Versions are written as the manager compares them
 * (core/versions): dpkg's `${Version}` already carries the epoch; rpm's needs `EPOCH:` put in front
 * when the package has one, or `1:2.0-1` would be read as older than `0:3.0-1`.
 */
export const osPackageListers: readonly OsPackageLister[] = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format string, not a template
  { source: 'dpkg', argv: ['dpkg-query', '-W', '-f=${Package}\t${Version}\n'] },
  { source: 'rpm', argv: ['rpm', '-qa', '--qf', '%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n'] },
];

function run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { maxBuffer: 64 << 20, timeout: 60_000, env }, (error, stdout) => resolve(error ? undefined : stdout));
  });
}

/** Packages of the first package manager present here (of `listers`); empty where there is none. */
export async function listOsPackages(listers: readonly OsPackageLister[] = osPackageListers, env: NodeJS.ProcessEnv = process.env): Promise<SoftwareItem[]> {
  for (const l of listers) {
    const out = await run(l.argv, env);
    if (out === undefined) continue;
    const items: SoftwareItem[] = [];
    for (const line of out.split('\n')) {
      const [name, version] = line.split('\t');
      if (name && version && name.length <= 256 && version.length <= 256) items.push({ name, version, source: l.source });
    }
    return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1)).slice(0, 19_000);
  }
  return [];
}

/** Caches `listOsPackages` for `ttlMs`; `invalidate()` after installing or uninstalling. */
export class OsPackageCache {
  private cached: { at: number; items: Promise<SoftwareItem[]> } | undefined;
  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly list: () => Promise<SoftwareItem[]> = () => listOsPackages(),
    private readonly clock: Clock = systemClock,
  ) {}

  get(): Promise<SoftwareItem[]> {
    const now = this.clock.now();
    if (!this.cached || now - this.cached.at > this.ttlMs) this.cached = { at: now, items: this.list() };
    return this.cached.items;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}
