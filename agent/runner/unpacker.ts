/** The seam that unpacks a verified artifact into the package folder a program runs in. */
import type { Artifact } from './downloader.js';

/** What an install is made from: the package version and its artifact. */
export interface PackageRef {
  readonly package: string;
  readonly version: string;
  readonly artifact: Artifact;
}

/** `fresh`: unpacked in this boot and unchanged; `stale`: from an earlier boot (its files may be damaged); `missing`. */
export type FolderState = 'fresh' | 'stale' | 'missing';

export type UnpackOutcome = { readonly ok: true; readonly dir: string } | { readonly ok: false; readonly reason: string };

export interface Unpacker {
  /** The package's folder when it was unpacked in this boot and is unchanged. */
  unpacked(ref: PackageRef): Promise<string | undefined>;
  /** How a folder Ferry installed from stands. */
  folder(dir: string): Promise<FolderState>;
  /** Unpacks the kept, verified artifact into the package's folder (replacing what was there). */
  unpack(ref: PackageRef): Promise<UnpackOutcome>;
}
