/**
 * Building an offline bundle (DESIGN §3): each host's stored plan, signed again with the
 * bundle's own expiry, every artifact its installs and uninstalls need (each once), and the
 * signed index. The plan keeps the host's stored serial: it is the same plan content the
 * controller serves online, so the host never applied a higher one, and when it comes back
 * online the controller's (equal or later) serial is not a rollback for it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { create } from 'tar';
import { artifactPath, bundleFormat, planPath, type BundleArtifact, type BundleHost, type BundleIndex } from '../../core/bundle/format.js';
import type { Plan } from '../../core/plan/types.js';
import { keyFingerprint, signDocument } from '../../core/signing/index.js';
import type { ContentStore } from '../content/content-store.js';
import type { PlanRecord } from '../store/store.js';
import { deriveResultsKey } from './results-key.js';

export interface BundleKeys {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

export interface BundleRequest {
  /** The hosts' stored plans (at least one). */
  readonly plans: readonly PlanRecord[];
  readonly now: Date;
  /** How long the bundle's plans stay valid, ms. */
  readonly validMs: number;
}

export type BuiltBundle =
  | { readonly ok: true; readonly index: BundleIndex; readonly stream: Readable; readonly cleanup: () => Promise<void> }
  | { readonly ok: false; readonly reason: string };

/** Stages the bundle and returns its tar stream; `cleanup` removes the staging folder (call it when the stream ended). */
export async function buildBundle(request: BundleRequest, keys: BundleKeys, content: ContentStore): Promise<BuiltBundle> {
  const id = randomUUID();
  const expiresAt = new Date(request.now.getTime() + request.validMs).toISOString();
  const artifacts = new Map<string, BundleArtifact>();
  for (const p of request.plans) {
    for (const a of p.body.actions) {
      const sha = a.artifact.sha256.toLowerCase();
      if (artifacts.has(sha)) continue;
      if (a.status === 'blocked' || a.status === 'not-applicable') continue;
      const info = await content.stat(sha);
      if (!info) {
        if (a.op === 'uninstall') continue; // an uninstall of what Ferry installed runs from the kept folder
        return { ok: false, reason: `the content store has no artifact ${sha} (${a.package} ${a.version}); push it with \`ferry package push\` first` };
      }
      artifacts.set(sha, { sha256: sha, size: info.size, path: artifactPath(sha) });
    }
  }
  const staging = await mkdtemp(join(tmpdir(), 'ferry-bundle-'));
  try {
    await mkdir(join(staging, 'plans'));
    await mkdir(join(staging, 'artifacts'));
    const hosts: BundleHost[] = [];
    for (const p of request.plans) {
      const plan: Plan = {
        host: p.host,
        serial: p.serial,
        revision: p.revision,
        generatedAt: request.now.toISOString(),
        expiresAt,
        sources: [],
        actions: p.body.actions,
      };
      const text = `${JSON.stringify(signDocument(plan, keys.privateKeyPem))}\n`;
      await writeFile(join(staging, planPath(p.host)), text);
      hosts.push({
        host: p.host,
        plan: planPath(p.host),
        planSha256: createHash('sha256').update(text).digest('hex'),
        resultsKey: deriveResultsKey(keys.privateKeyPem, id, p.host),
      });
    }
    for (const a of artifacts.values()) await symlink(content.path(a.sha256), join(staging, a.path));
    const index = signDocument<BundleIndex>(
      {
        format: bundleFormat,
        id,
        createdAt: request.now.toISOString(),
        expiresAt,
        controllerKey: keys.publicKeyPem,
        fingerprint: keyFingerprint(keys.publicKeyPem),
        hosts,
        artifacts: [...artifacts.values()],
      },
      keys.privateKeyPem,
    );
    await writeFile(join(staging, 'bundle.json'), `${JSON.stringify(index, null, 2)}\n`);
    const entries = ['bundle.json', ...hosts.map((h) => h.plan), ...[...artifacts.values()].map((a) => a.path)];
    const stream = create({ cwd: staging, follow: true, portable: true, noDirRecurse: true }, entries) as unknown as Readable;
    return { ok: true, index, stream, cleanup: () => rm(staging, { recursive: true, force: true }) };
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
}
