/**
 * The publisher keys this agent trusts (docs/security.md#publisher-keys): `DATA/trusted-publishers.json`,
 * mode 0600, written only on this host — by `ferry agent --trust-publisher KEYFILE` or by whoever
 * configures the host. The controller cannot add to it: a plan's TrustPolicy declarations only
 * narrow it (core/signing/publisher.ts narrowTrust), so a compromised controller alone cannot
 * make this host install an artifact no pinned publisher signed.
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writePrivateFile } from '../../lib/write-private.js';
import { keyFingerprint, type TrustedPublisher } from '../../core/signing/index.js';

/** One pinned key as the trust file holds it. */
export interface PinnedPublisher {
  readonly name?: string;
  /** SPKI PEM. */
  readonly publicKey: string;
  /** Package names it may sign on this host (default `*`). */
  readonly packages?: readonly string[];
  readonly expires?: string;
  readonly revoked?: string;
}

export interface TrustFile {
  readonly publishers: readonly PinnedPublisher[];
}

export const trustFileName = 'trusted-publishers.json';
export const trustFile = (dataDir: string): string => join(dataDir, trustFileName);

/** A trust file or key file that cannot be used; the agent refuses to start rather than run unprotected. */
export class TrustFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrustFileError';
  }
}

/**
 * Pins the public keys in `keyFiles` (each for every package, `*`) into DATA's trust file — kept
 * there, so a later start without the flag is still protected — and returns every pinned key.
 */
export async function loadPinnedPublishers(dataDir: string, keyFiles: readonly string[] = []): Promise<TrustedPublisher[]> {
  const current = await readTrustFile(dataDir);
  const known = new Set(current.publishers.map((p) => keyFingerprint(p.publicKey)));
  const added: PinnedPublisher[] = [];
  for (const file of keyFiles) {
    const publicKey = await readPublicKeyFile(file);
    const fp = keyFingerprint(publicKey);
    if (known.has(fp)) continue;
    known.add(fp);
    added.push({ name: file, publicKey, packages: ['*'] });
  }
  const file: TrustFile = added.length > 0 ? { publishers: [...current.publishers, ...added] } : current;
  if (added.length > 0) await writeTrustFile(dataDir, file);
  return file.publishers.map((p) => ({
    key: keyFingerprint(p.publicKey),
    publicKey: p.publicKey,
    packages: p.packages ?? ['*'],
    ...(p.expires !== undefined ? { expires: p.expires } : {}),
    ...(p.revoked !== undefined ? { revoked: p.revoked } : {}),
    from: `this host's ${trustFileName}`,
  }));
}

async function readTrustFile(dataDir: string): Promise<TrustFile> {
  const path = trustFile(dataDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { publishers: [] };
    throw new TrustFileError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let parsed: Partial<TrustFile>;
  try {
    parsed = JSON.parse(text) as Partial<TrustFile>;
  } catch (e) {
    throw new TrustFileError(`${path} is not JSON (${(e as Error).message}); fix it or remove it and pin again with --trust-publisher`);
  }
  if (!Array.isArray(parsed.publishers)) throw new TrustFileError(`${path} has no "publishers" list`);
  parsed.publishers.forEach((p, i) => {
    if (typeof p?.publicKey !== 'string') throw new TrustFileError(`${path}: publishers[${i}] has no publicKey`);
    try {
      if (createPublicKey(p.publicKey).asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    } catch (e) {
      throw new TrustFileError(`${path}: publishers[${i}].publicKey is not an ed25519 public key (${(e as Error).message})`);
    }
    if (p.packages !== undefined && (!Array.isArray(p.packages) || p.packages.some((x: unknown) => typeof x !== 'string'))) {
      throw new TrustFileError(`${path}: publishers[${i}].packages must be a list of names or prefix* patterns`);
    }
    if (p.expires !== undefined && Number.isNaN(Date.parse(p.expires))) throw new TrustFileError(`${path}: publishers[${i}].expires is not an RFC 3339 time`);
  });
  return parsed as TrustFile;
}

async function readPublicKeyFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new TrustFileError(`--trust-publisher ${file}: ${(e as Error).message}`);
  }
  try {
    const key = createPublicKey(text);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} key`);
    return key.export({ type: 'spki', format: 'pem' }).toString();
  } catch (e) {
    throw new TrustFileError(`--trust-publisher ${file} is not an ed25519 public key (${(e as Error).message}); give PREFIX.pub from \`ferry key generate\``);
  }
}

async function writeTrustFile(dataDir: string, file: TrustFile): Promise<void> {
  await writePrivateFile(trustFile(dataDir), `${JSON.stringify(file, null, 2)}\n`);
}
