/** Bundles made with the controller's own builder from a hand-made stored plan, for the apply tests. */
import { generateKeyPairSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, extract } from 'tar';
import { writeBundleFiles } from '../../../agent/bundle/volumes.js';
import { buildArtifact } from '../../../cli/artifact.js';
import { buildBundle, type BundleKeys } from '../../../controller/bundle/build-bundle.js';
import { DirectoryContentStore } from '../../../controller/content/index.js';
import type { PlanAction } from '../../../core/plan/types.js';
import type { PlanRecord } from '../../../controller/store/store.js';
import { keyFingerprint } from '../../../core/signing/index.js';

export function makeKeys(): BundleKeys & { fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem, fingerprint: keyFingerprint(publicKeyPem) };
}

export interface Harness {
  readonly root: string;
  readonly content: DirectoryContentStore;
  readonly artifact: { sha256: string; size: number };
}

/** A package whose install appends to `$FERRY_INSTALL_ROOT/installs.log`; `extraEntries` crafts unsafe artifacts. */
export async function makeHarness(): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-bundle-apply-'));
  const pkg = join(root, 'pkg');
  await mkdir(pkg);
  await writeFile(join(pkg, 'install.sh'), '#!/bin/sh\nset -eu\necho start >> "$FERRY_INSTALL_ROOT/installs.log"\necho done >> "$FERRY_INSTALL_ROOT/installs.log"\n');
  const content = new DirectoryContentStore(join(root, 'content'));
  const artifact = await storeArtifact(content, await buildArtifact(pkg, join(root, 'hello.tar.gz')), join(root, 'hello.tar.gz'));
  return { root, content, artifact };
}

export async function storeArtifact(content: DirectoryContentStore, a: { sha256: string; size: number }, file: string): Promise<{ sha256: string; size: number }> {
  const put = await content.put(createReadStream(file), a.sha256, { expectedSize: a.size });
  if (!put.ok) throw new Error('artifact not stored');
  return { sha256: a.sha256, size: a.size };
}

/** A .tar.gz artifact holding `../escape.sh` (made with preservePaths, as an attacker would). */
export async function traversalArtifact(h: Harness): Promise<{ sha256: string; size: number }> {
  const dir = join(h.root, 'evil', 'inner');
  await mkdir(dir, { recursive: true });
  await writeFile(join(h.root, 'evil', 'escape.sh'), 'echo escaped\n');
  const file = join(h.root, 'evil.tar.gz');
  await create({ gzip: true, cwd: dir, file, preservePaths: true, portable: true }, ['../escape.sh']);
  const bytes = await readFile(file);
  const { createHash } = await import('node:crypto');
  const a = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  return storeArtifact(h.content, a, file);
}

export function installAction(a: { sha256: string; size: number }, over: Partial<PlanAction> = {}): PlanAction {
  return {
    id: 'hello-1/hello@1.0.0/install',
    deployment: 'hello-1',
    package: 'hello',
    version: '1.0.0',
    op: 'install',
    status: 'planned',
    blockedBy: [],
    artifact: a,
    install: { command: ['sh', 'install.sh'], timeoutMs: 60_000, env: {} },
    conditions: [],
    distribute: { multicast: false, wake: false },
    installWindows: [],
    shutdownAfter: false,
    suspended: false,
    ...over,
  };
}

export function planRecord(host: string, serial: number, actions: readonly PlanAction[]): PlanRecord {
  return { host, serial, hash: `hash-${serial}`, revision: 'dir@sha256:test', generatedAt: '2026-12-01T00:00:00.000Z', body: { host, sources: [], actions } };
}

/** Writes a bundle of `plans` to `file` (or volumes of `volumeSize`); returns the files and the bundle id. */
export async function writeBundle(h: Harness, keys: BundleKeys, plans: readonly PlanRecord[], file: string, o: { now?: Date; validMs?: number; volumeSize?: number } = {}) {
  const built = await buildBundle({ plans, now: o.now ?? new Date(), validMs: o.validMs ?? 30 * 86_400_000 }, keys, h.content);
  if (!built.ok) throw new Error(built.reason);
  try {
    const files = await writeBundleFiles(built.stream, file, o.volumeSize);
    return { files, id: built.index.id, index: built.index };
  } finally {
    await built.cleanup();
  }
}

/** Unpacks a bundle into a folder, lets `edit` change it, and packs `entries` (in that order) into `out`. */
export async function repack(bundle: string, out: string, edit: (dir: string) => Promise<void>, entries?: readonly string[], extra: { follow?: boolean } = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-repack-'));
  await extract({ file: bundle, cwd: dir });
  await edit(dir);
  const { readdir } = await import('node:fs/promises');
  const names = entries ?? [
    'bundle.json',
    ...(await readdir(join(dir, 'plans'))).map((n) => `plans/${n}`),
    ...(await readdir(join(dir, 'artifacts'))).map((n) => `artifacts/${n}`),
  ];
  await create({ file: out, cwd: dir, portable: true, noDirRecurse: true, follow: extra.follow ?? false }, [...names]);
}
