/**
 * The offline bundle and results formats (DESIGN §3, §5). A bundle is a tar of `bundle.json`
 * (this index, signed by the controller key like a plan), `plans/HOST.json` (each a signed plan)
 * and `artifacts/SHA256.tar.gz`. A results file carries the host's reports back, authenticated by
 * an HMAC-SHA256 with the bundle's per-host results key, which the controller derives from its
 * own secret and can derive again at import. Pure: keys come in as arguments.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ActionReport } from '../plan/types.js';
import { signedBytes } from '../signing/index.js';

export const bundleFormat = 'ferry-bundle/v1';
export const resultsFormat = 'ferry-results/v1';

/** One host a bundle carries a plan for. */
export interface BundleHost {
  readonly host: string;
  /** Path of the signed plan inside the bundle: `plans/HOST.json`. */
  readonly plan: string;
  /** sha256 (hex) of that file. */
  readonly planSha256: string;
  /** Base64 HMAC key the host signs its results file with (bound to this bundle and host). */
  readonly resultsKey: string;
}

export interface BundleArtifact {
  readonly sha256: string;
  readonly size: number;
  /** `artifacts/SHA256.tar.gz`. */
  readonly path: string;
}

/** `bundle.json`. */
export interface BundleIndex {
  readonly format: typeof bundleFormat;
  readonly id: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** SPKI PEM of the signing key (trusted only when pinned, or when its fingerprint is given). */
  readonly controllerKey: string;
  readonly fingerprint: string;
  readonly hosts: readonly BundleHost[];
  readonly artifacts: readonly BundleArtifact[];
  readonly signature?: string;
}

/** A results file: what one host's journal reported while applying a bundle. */
export interface ResultsFile {
  readonly format: typeof resultsFormat;
  readonly bundleId: string;
  readonly host: string;
  /** The plan serial applied. */
  readonly serial: number;
  /** When the apply finished (the host's clock). */
  readonly appliedAt: string;
  readonly reports: readonly ActionReport[];
  /** Base64 HMAC-SHA256 over the JCS form of the file without `mac`. */
  readonly mac?: string;
}

export const planPath = (host: string): string => `plans/${host}.json`;
export const artifactPath = (sha256: string): string => `artifacts/${sha256}.tar.gz`;

/** The results file with its `mac` set. */
export function signResults(file: ResultsFile, resultsKeyBase64: string): ResultsFile {
  const { mac: _old, ...rest } = file;
  return { ...rest, mac: resultsMac(rest, resultsKeyBase64) };
}

/** True when `file.mac` is the HMAC of the rest under the key. */
export function resultsMacHolds(file: ResultsFile, resultsKeyBase64: string): boolean {
  if (typeof file.mac !== 'string') return false;
  const want = Buffer.from(resultsMac(file, resultsKeyBase64), 'base64');
  const got = Buffer.from(file.mac, 'base64');
  return got.length === want.length && timingSafeEqual(got, want);
}

function resultsMac(file: object, keyBase64: string): string {
  const { mac: _ignored, ...rest } = file as Record<string, unknown>;
  return createHmac('sha256', Buffer.from(keyBase64, 'base64'))
    .update(signedBytes({ ...rest, signature: undefined }))
    .digest('base64');
}
