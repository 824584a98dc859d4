/** A fleet of enrolled hosts with signed plans, written straight into a store (the serve and poll benchmarks' controllers). */
import { createHash, type KeyObject } from 'node:crypto';
import type { Plan } from '../../core/plan/types.js';
import { signDocument } from '../../core/signing/index.js';
import type { Store } from '../../controller/store/store.js';

/**
 * Enrolls `hosts` hosts (`hostName(i)`, credential `credentialOf(i)`) and saves each a signed plan of
 * three install actions; returns each host's signed document (what a poll serves, and nginx's files).
 */
export async function seedSignedFleet(
  store: Store,
  hosts: number,
  hostName: (i: number) => string,
  credentialOf: (i: number) => string,
  privateKey: KeyObject,
): Promise<Map<string, string>> {
  const now = new Date();
  for (let i = 0; i < hosts; i++) {
    await store.enrollHost({
      host: hostName(i),
      credentialHash: createHash('sha256').update(credentialOf(i)).digest('hex'),
      facts: { os: { platform: 'linux' }, arch: 'x64', cpus: 4 },
      labels: { site: i % 2 === 0 ? 'tokyo' : 'osaka' },
      now,
    });
  }
  const actions = (i: number) =>
    [0, 1, 2].map((k) => ({
      id: `deploy-${k}/pkg-${k}@1.${k}.0/install`,
      deployment: `deploy-${k}`,
      package: `pkg-${k}`,
      version: `1.${k}.0`,
      op: 'install' as const,
      status: 'planned' as const,
      blockedBy: k === 0 ? [] : ['deploy-0/pkg-0@1.0.0/install'],
      artifact: { sha256: createHash('sha256').update(`artifact-${k}`).digest('hex'), size: 1_048_576 * (k + 1) },
      install: { command: ['sh', 'install.sh'], timeoutMs: 600_000, env: { HOST_INDEX: String(i) } },
      conditions: [],
      distribute: { multicast: false, wake: false },
      shutdownAfter: false,
      suspended: false,
    }));
  const expiresAt = new Date(now.getTime() + 7 * 86_400_000).toISOString();
  const signed = new Map<string, string>();
  const entries = Array.from({ length: hosts }, (_, i) => {
    const body = { host: hostName(i), sources: [{ kind: 'controller' as const, name: 'controller' }], actions: actions(i) };
    return { host: hostName(i), hash: createHash('sha256').update(JSON.stringify(body)).digest('hex'), body, revision: 'main@sha1:bench' };
  });
  await store.savePlans(entries, now, {
    sign: (p) => {
      const plan: Plan = { ...p.body, serial: p.serial, revision: p.revision, generatedAt: p.generatedAt, expiresAt };
      const doc = JSON.stringify(signDocument(plan, privateKey));
      signed.set(p.host, doc);
      return doc;
    },
  });
  return signed;
}
