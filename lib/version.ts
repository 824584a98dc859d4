/** The one version string of Ferry: package.json's `version`, for `ferry --version` and the agent's inventory. */
import packageJson from '../package.json' with { type: 'json' };

/** Ferry's version, e.g. `0.1.0`. */
export const ferryVersion: string = packageJson.version;
