/** The one version string of Ferry: package.json's `version`, for `ferry --version` and the agent's inventory. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Ferry's `package.json`, found upwards from this module, both in the sources and in `dist/`.
 * (Not a JSON import: that would copy package.json into dist/ and move the checkout root that
 * schemas and dashboard assets are found from.)
 */
function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ferry' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: look further up
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the package.json of the ferry checkout');
    dir = up;
  }
}

/** Ferry's version, e.g. `0.1.0`. */
export const ferryVersion: string = readPackageVersion();
