/** Where the agent keeps content and unpacked packages under its data folder. */
import { join } from 'node:path';
import type { Artifact } from './downloader.js';
import type { PackageRef } from './unpacker.js';

/** The kept artifact: `DATA/content/SHA256.tar.gz` (its unfinished download beside it, `.part`). */
export function contentPath(dataDir: string, artifact: Artifact): string {
  return join(dataDir, 'content', `${artifact.sha256.toLowerCase()}.tar.gz`);
}

/** The unpacked package: `DATA/packages/NAME/VERSION-SHA8`. */
export function packageDir(dataDir: string, ref: PackageRef): string {
  return join(dataDir, 'packages', ref.package, `${ref.version}-${ref.artifact.sha256.slice(0, 8)}`);
}
