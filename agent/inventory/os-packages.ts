/** The OS package list (`dpkg-query` or `rpm`), cached because listing it takes a while. */
import { systemClock, type Clock } from '../../lib/clock.js';
import { execFile } from 'node:child_process';
import type { SoftwareItem } from '../../core/plan/types.js';

const listers: readonly { readonly source: string; readonly argv: readonly string[] }[] = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format string, not a template
  { source: 'dpkg', argv: ['dpkg-query', '-W', '-f=${Package}\t${Version}\n'] },
  { source: 'rpm', argv: ['rpm', '-qa', '--qf', '%{NAME}\t%{VERSION}-%{RELEASE}\n'] },
];

function run(argv: readonly string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { maxBuffer: 64 << 20, timeout: 60_000 }, (error, stdout) => resolve(error ? undefined : stdout));
  });
}

/** Packages of the first package manager present here; empty where there is none. */
export async function listOsPackages(): Promise<SoftwareItem[]> {
  for (const l of listers) {
    const out = await run(l.argv);
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
    private readonly list: () => Promise<SoftwareItem[]> = listOsPackages,
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
