/**
 * Publisher trust (docs/security.md#publisher-keys): every TrustPolicy key is an ed25519 public
 * key, and every Package whose name a policy covers carries a valid signature by a covering key —
 * an error otherwise. A good signature by a revoked (or, given the time, expired) key is a
 * warning: the revision applies, so a revocation takes effect by its commit, and the planner
 * blocks new installs of that package with the reason.
 */
import { createPublicKey } from 'node:crypto';
import { artifactStatement, checkPublisher, type TrustedPublisher } from '../signing/publisher.js';
import { entriesOf, type CheckContext } from './check-context.js';
import type { Snapshot, TrustPolicyResource } from './types.js';

/** Reports key and signature problems; `now` (RFC 3339) makes expired keys errors too. */
export function checkTrust(ctx: CheckContext, now: string | undefined): void {
  const policies = entriesOf(ctx, 'TrustPolicy');
  if (policies.length === 0) return;
  for (const e of policies) {
    e.resource.spec.publishers.forEach((p, i) => {
      if (p.fingerprint === '') return;
      const type = createPublicKey(p.publicKey).asymmetricKeyType;
      if (type !== 'ed25519')
        ctx.report(e, ['spec', 'publishers', i, 'publicKey'], 'error', `publicKey is a ${type ?? 'unknown'} key; publisher keys are ed25519 (\`ferry key generate\`)`);
    });
  }
  const trusted = trustedPublishers(policies.map((e) => e.resource));
  for (const e of entriesOf(ctx, 'Package')) {
    const { metadata, spec } = e.resource;
    const verdict = checkPublisher(artifactStatement(metadata.name, spec.version, spec.artifact), spec.artifact.signatures ?? [], trusted, now);
    if (verdict.ok) continue;
    const path = spec.artifact.signatures ? ['spec', 'artifact', 'signatures'] : ['spec', 'artifact'];
    if (verdict.lapsed) ctx.report(e, path, 'warning', `${verdict.reason}; new installs of ${metadata.name} ${spec.version} are blocked`, 'key');
    else ctx.report(e, path, 'error', verdict.reason, 'key');
  }
}

/** The publisher keys of TrustPolicies, as the trust rules take them. */
export function trustedPublishers(policies: Iterable<TrustPolicyResource>): TrustedPublisher[] {
  const out: TrustedPublisher[] = [];
  for (const r of policies) {
    for (const p of r.spec.publishers) {
      if (p.fingerprint === '') continue;
      out.push({
        key: p.fingerprint,
        publicKey: p.publicKey,
        packages: p.packages,
        ...(p.expires !== undefined ? { expires: p.expires } : {}),
        ...(p.revoked !== undefined ? { revoked: p.revoked } : {}),
        from: `TrustPolicy ${r.metadata.name}`,
      });
    }
  }
  return out;
}

/** The snapshot's publisher keys. */
export function snapshotPublishers(snapshot: Snapshot): TrustedPublisher[] {
  return trustedPublishers(snapshot.trustPolicies.values());
}
