import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { acceptPlan, signDocument, signedBytes, verifyDocument } from '../../../core/signing/index.js';
import type { Plan } from '../../../core/plan/types.js';

const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};
const controller = pair();
const stranger = pair();

const plan: Plan = {
  host: 'clt2',
  serial: 7,
  revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567',
  generatedAt: '2026-12-01T00:00:00Z',
  expiresAt: '2026-12-08T00:00:00Z',
  sources: [{ kind: 'controller', name: 'controller' }],
  actions: [],
};

describe('core/signing', () => {
  it('signs the JCS form without the signature field (key order does not matter)', () => {
    const reordered = { actions: [], sources: plan.sources, expiresAt: plan.expiresAt, generatedAt: plan.generatedAt, revision: plan.revision, serial: 7, host: 'clt2' };
    expect(signedBytes(plan).toString()).to.equal(signedBytes({ ...reordered, signature: 'x' } as Plan).toString());
    expect(signedBytes(plan).toString()).to.equal(
      '{"actions":[],"expiresAt":"2026-12-08T00:00:00Z","generatedAt":"2026-12-01T00:00:00Z","host":"clt2","revision":"main@sha1:0123456789abcdef0123456789abcdef01234567","serial":7,"sources":[{"kind":"controller","name":"controller"}]}',
    );
  });

  const now = '2026-12-02T00:00:00Z';
  const signed = signDocument(plan, controller.privateKey);
  const cases: { name: string; plan: Plan; lastSerial?: number; key?: string; host?: string; now?: string; result: ReturnType<typeof acceptPlan> }[] = [
    { name: 'a good plan', plan: signed, lastSerial: 7, result: { ok: true } },
    { name: 'an unsigned plan', plan, result: { ok: false, reason: 'not signed' } },
    { name: 'a plan signed by another key', plan: signed, key: stranger.publicKey, result: { ok: false, reason: 'signature does not match the pinned controller key' } },
    { name: 'a tampered plan', plan: { ...signed, serial: 8 }, result: { ok: false, reason: 'signature does not match the pinned controller key' } },
    { name: 'a garbage key', plan: signed, key: 'not a key', result: { ok: false, reason: 'the pinned controller key is not a valid public key' } },
    { name: "another host's plan", plan: signed, host: 'clt3', result: { ok: false, reason: 'plan is for host clt2, not clt3' } },
    { name: 'a rolled-back plan', plan: signed, lastSerial: 8, result: { ok: false, reason: 'rollback: plan serial 7 is lower than the applied serial 8' } },
    { name: 'an expired plan', plan: signed, now: '2026-12-08T00:00:00Z', result: { ok: false, reason: 'freeze: plan expired at 2026-12-08T00:00:00Z' } },
  ];
  for (const c of cases) {
    it(`acceptPlan: ${c.name}`, () => {
      const got = acceptPlan(c.plan, { publicKey: c.key ?? controller.publicKey, lastSerial: c.lastSerial, now: c.now ?? now, host: c.host ?? 'clt2' });
      expect(got).to.deep.equal(c.result);
    });
  }

  it('verifyDocument works for any signed document (bundles, results files)', () => {
    const results = signDocument({ host: 'clt9', results: [{ actionId: 'a/b@1/install', state: 'installed' }] }, controller.privateKey);
    expect(verifyDocument(results, controller.publicKey)).to.deep.equal({ ok: true });
    expect(verifyDocument({ ...results, host: 'clt8' }, controller.publicKey).ok).to.equal(false);
  });
});
