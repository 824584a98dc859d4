import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { HostPlan, Plan } from '../../../core/plan/types.js';
import { planFleet } from '../../../core/planner/index.js';
import { acceptPlan, signedBytes } from '../../../core/signing/index.js';
import { planDocument, planLifetimeMs, signPlan, signPlanText } from '../../../controller/reconcile/plan-document.js';
import { SigningPool } from '../../../controller/keys/signing-pool.js';
import { benchFleet } from '../../../bench/plan.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const signedAt = new Date('2026-12-01T10:00:00Z');

/** Plans the planner made (shared, frozen action lists), and hand-made ones with awkward strings. */
function plans(): HostPlan[] {
  const { snapshot, inventories, ctx } = benchFleet(300);
  const made = [...planFleet(snapshot, inventories, ctx).plans.values()].slice(0, 60);
  const odd: HostPlan = {
    host: 'h-ü',
    sources: [{ kind: 'controller', name: 'controller' } as never],
    actions: [{ id: 'd/p@1/install', deployment: 'd', package: 'p', version: '1', op: 'install', status: 'planned', reason: 'a "quoted" \u2028 line\ud83d\ude00' } as never],
  };
  return [...made, odd, { host: 'empty', sources: [], actions: [] }];
}

describe('controller/reconcile plan documents', () => {
  const cases = plans().map((body, i) => ({
    name: `${body.host} (#${i}, ${body.actions.length} actions)`,
    record: { host: body.host, serial: i + 1, hash: 'x', revision: 'main@sha1:abc', body, generatedAt: '' },
  }));

  it('signs exactly the RFC 8785 bytes of the document, and serves the document in that key order', () => {
    for (const c of cases) {
      const doc = planDocument(c.record, signedAt);
      const expected: Omit<Plan, 'signature'> = {
        host: c.record.host,
        serial: c.record.serial,
        revision: c.record.revision,
        generatedAt: signedAt.toISOString(),
        expiresAt: new Date(signedAt.getTime() + planLifetimeMs).toISOString(),
        sources: c.record.body.sources,
        actions: c.record.body.actions,
      };
      expect(doc.text, c.name).to.equal(canonicalize(expected));
      expect(doc.text, c.name).to.equal(signedBytes(expected).toString('utf8'));
      expect(doc.withSignature('c2ln'), c.name).to.equal(canonicalize({ ...expected, signature: 'c2ln' }));
    }
  });

  it('makes documents the agent accepts (same verification as before), and refuses a changed one', () => {
    for (const c of cases) {
      const plan = JSON.parse(signPlanText(c.record, signedAt, privateKeyPem)) as Plan;
      expect(acceptPlan(plan, { publicKey: publicKeyPem, host: c.record.host, now: signedAt.toISOString() }), c.name).to.deep.equal({ ok: true });
      expect(signPlan(c.record, signedAt, privateKeyPem)).to.deep.equal(plan);
      const forged = { ...plan, serial: plan.serial + 1 };
      expect(acceptPlan(forged, { publicKey: publicKeyPem, host: c.record.host, now: signedAt.toISOString() }).ok, c.name).to.equal(false);
    }
  });

  it('signs on worker threads what it would sign on this one, in order, a text whole or in its parts', async () => {
    const pool = new SigningPool(privateKeyPem, 2);
    try {
      // More texts than the pool signs on the calling thread: they go to the workers.
      const records = Array.from({ length: 100 }, (_, i) => cases[i % cases.length]!.record).map((r, i) => ({ ...r, host: `${r.host}-${i}` }));
      const docs = records.map((r) => planDocument(r, signedAt));
      const signatures = await Promise.all(docs.map((d, i) => pool.sign(i % 2 === 0 ? d.parts : d.text)));
      for (const [i, r] of records.entries()) {
        expect(docs[i]!.parts.join('')).to.equal(docs[i]!.text);
        const plan = JSON.parse(docs[i]!.withSignature(signatures[i]!)) as Plan;
        expect(plan).to.deep.equal(signPlan(r, signedAt, privateKeyPem));
      }
    } finally {
      await pool.close();
    }
  });
});
