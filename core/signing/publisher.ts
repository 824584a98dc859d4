/**
 * Publisher signatures (the second key, docs/security.md#publisher-keys): a publisher's ed25519
 * key signs what an artifact is — package name, version, sha256, size (and unpacked size when
 * known) — as RFC 8785 canonical JSON, the plan's canonicaliser. Who may sign which package names
 * is a TrustPolicy in git; an agent checks the same rules against the keys it pinned itself, so a
 * controller alone cannot make a host install what no trusted publisher signed. Pure: keys and
 * the time come in as arguments.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { keyFingerprint } from './fingerprint.js';
import { signedBytes } from './signature.js';

/** What a publisher vouches for: one artifact under one package name and version. */
export interface ArtifactStatement {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly unpackedSize?: number;
}

/** The statement of a package version's artifact (the unpacked size is signed when the manifest has one). */
export function artifactStatement(name: string, version: string, artifact: { readonly sha256: string; readonly size: number; readonly unpackedSize?: number }): ArtifactStatement {
  return { name, version, sha256: artifact.sha256, size: artifact.size, ...(artifact.unpackedSize !== undefined ? { unpackedSize: artifact.unpackedSize } : {}) };
}

/** One signature on a Package's artifact: the signing key's fingerprint and the base64 ed25519 signature. */
export interface PublisherSignature {
  readonly key: string;
  readonly signature: string;
}

/** A publisher key as trust rules see it. */
export interface TrustedPublisher {
  /** `SHA256:…` fingerprint of the public key. */
  readonly key: string;
  /** SPKI PEM. */
  readonly publicKey: string;
  /** Package names it may sign: exact names, `prefix*`, or `*` for every package. */
  readonly packages: readonly string[];
  /** RFC 3339; from then on its signatures install nothing new. */
  readonly expires?: string;
  /** Why it was revoked; present: its signatures install nothing new. */
  readonly revoked?: string;
  /** Where the key was declared (`TrustPolicy acme`, `the agent's trust file`), for messages. */
  readonly from?: string;
}

export type PublisherVerdict =
  /** No trusted key covers the package name: no signature is required. */
  | { readonly ok: true; readonly required: false }
  | { readonly ok: true; readonly required: true; readonly key: string }
  /** `lapsed`: a good signature by a key that is revoked or expired (the artifact was fine; the key installs nothing new). */
  | { readonly ok: false; readonly reason: string; readonly lapsed?: true };

const statementType = 'ferry-artifact/v1';

/** The exact bytes a publisher signs: JCS of the statement with its type tag (unpackedSize only when known). */
export function statementBytes(s: ArtifactStatement): Buffer {
  return signedBytes({
    type: statementType,
    name: s.name,
    version: s.version,
    sha256: s.sha256,
    size: s.size,
    ...(s.unpackedSize !== undefined ? { unpackedSize: s.unpackedSize } : {}),
  });
}

/** Signs a statement with a publisher's PEM (PKCS8) private key. */
export function signArtifact(s: ArtifactStatement, privateKey: string | KeyObject): PublisherSignature {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  return { key: keyFingerprint(createPublicKey(key)), signature: sign(null, statementBytes(s), key).toString('base64') };
}

/** True when `name` matches one of the patterns: an exact name, `prefix*`, or `*`. */
export function coversPackage(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name));
}

/**
 * Decides whether an artifact may be installed under the trust rules: when any trusted key
 * covers the package name, one of its signatures must be by such a key, match the statement,
 * and the key be neither revoked nor expired at `now` (absent: expiry is not checked).
 * Never throws; the reason says which key and what to do.
 */
export function checkPublisher(s: ArtifactStatement, signatures: readonly PublisherSignature[], trusted: readonly TrustedPublisher[], now?: string): PublisherVerdict {
  const covering = trusted.filter((t) => coversPackage(t.packages, s.name));
  if (covering.length === 0) return { ok: true, required: false };
  if (signatures.length === 0) {
    return { ok: false, reason: `${s.name} ${s.version} is not signed; a signature by ${list(covering)} is required (\`ferry package build --sign KEYFILE\`)` };
  }
  const reasons: string[] = [];
  let lapsed = false;
  for (const sig of signatures) {
    const t = covering.find((c) => c.key === sig.key);
    if (t === undefined) {
      reasons.push(`signed by ${sig.key}, which is not trusted for ${s.name} (trusted: ${list(covering)})`);
      continue;
    }
    if (!verifies(s, sig, t.publicKey)) {
      reasons.push(`the signature by ${sig.key} does not match ${s.name} ${s.version} sha256 ${s.sha256.slice(0, 12)}… (artifact or metadata changed after signing)`);
      continue;
    }
    lapsed = true;
    if (t.revoked !== undefined) {
      reasons.push(`publisher key ${sig.key} is revoked${t.from ? ` by ${t.from}` : ''}: ${t.revoked}`);
      continue;
    }
    if (t.expires !== undefined && now !== undefined && Date.parse(t.expires) <= Date.parse(now)) {
      reasons.push(`publisher key ${sig.key} expired at ${t.expires}${t.from ? ` (${t.from})` : ''}`);
      continue;
    }
    return { ok: true, required: true, key: sig.key };
  }
  return { ok: false, reason: reasons.join('; '), ...(lapsed ? { lapsed: true as const } : {}) };
}

function verifies(s: ArtifactStatement, sig: PublisherSignature, publicKey: string): boolean {
  try {
    return verify(null, statementBytes(s), createPublicKey(publicKey), Buffer.from(sig.signature, 'base64'));
  } catch {
    return false;
  }
}

function list(keys: readonly TrustedPublisher[]): string {
  return [...new Set(keys.map((k) => k.key))].join(' or ');
}

/** The publisher entries a controller declares in a plan action (no key material: the agent brings its own). */
export interface DeclaredPublisher {
  readonly key: string;
  readonly packages: readonly string[];
  readonly expires?: string;
  readonly revoked?: string;
}

/**
 * An agent's trust for one action: its pinned keys, narrowed by what the plan declares — a
 * declaration can revoke, expire or drop a pinned key, never add one or widen its package names.
 */
export function narrowTrust(pinned: readonly TrustedPublisher[], declared: readonly DeclaredPublisher[] | undefined, name: string): TrustedPublisher[] {
  const policy = "the controller's TrustPolicy";
  return pinned.map((p): TrustedPublisher => {
    if (p.revoked !== undefined) return p;
    const d = (declared ?? []).find((x) => x.key === p.key && coversPackage(x.packages, name));
    if (d === undefined) return { ...p, revoked: `not declared for ${name} at this revision`, from: policy };
    if (d.revoked !== undefined) return { ...p, revoked: d.revoked, from: policy };
    if (d.expires !== undefined && (p.expires === undefined || Date.parse(d.expires) < Date.parse(p.expires))) return { ...p, expires: d.expires, from: policy };
    return p;
  });
}

/** The plan action fields the agent's publisher check reads. */
export interface PlannedArtifact {
  readonly package: string;
  readonly version: string;
  readonly artifact: { readonly sha256: string; readonly size: number; readonly unpackedSize?: number; readonly signatures?: readonly PublisherSignature[] };
  readonly publishers?: readonly DeclaredPublisher[];
}

/**
 * The agent's check before it fetches or installs a plan action: its pinned keys narrowed by the
 * plan's declaration, then checkPublisher (a refusal's reason starts `publisher check:`).
 */
export function checkInstall(a: PlannedArtifact, pinned: readonly TrustedPublisher[], now: string): PublisherVerdict {
  if (pinned.length === 0) return { ok: true, required: false };
  const verdict = checkPublisher(artifactStatement(a.package, a.version, a.artifact), a.artifact.signatures ?? [], narrowTrust(pinned, a.publishers, a.package), now);
  return verdict.ok ? verdict : { ...verdict, reason: `publisher check: ${verdict.reason}` };
}
