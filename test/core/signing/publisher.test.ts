/**
 * Publisher signatures and controller key transitions, the pure rules (core/signing): what
 * `ferry validate`, the controller and the agent each decide about a signed (or unsigned) artifact,
 * and what an agent accepts from a plan announcing a new controller key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { loadManifests } from '../../../core/manifest/index.js';
import type { Plan } from '../../../core/plan/types.js';
import { diffAction } from '../../../core/plan-diff/diff-action.js';
import { planFleet } from '../../../core/planner/index.js';
import {
  acceptPlan,
  artifactStatement,
  checkInstall,
  checkPublisher,
  keyFingerprint,
  narrowTrust,
  signArtifact,
  signDocument,
  vouchFor,
  type PublisherSignature,
  type TrustedPublisher,
} from '../../../core/signing/index.js';

const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey: pub, fp: keyFingerprint(pub) };
};
const acme = pair();
const other = pair();
const stolen = pair();

const sha = 'ab'.repeat(32);
const editor = artifactStatement('text-editor', '2.4.1', { sha256: sha, size: 1000 });
const bySigned = signArtifact(editor, acme.privateKey);
const byOther = signArtifact(editor, other.privateKey);
const trustAcme = (over: Partial<TrustedPublisher> = {}): TrustedPublisher => ({ key: acme.fp, publicKey: acme.publicKey, packages: ['text-*'], ...over });
const now = '2026-12-05T00:00:00Z';

describe('core/signing publisher signatures', () => {
  it('a signature is over name, version, sha256 and size, and names its key by fingerprint', () => {
    expect(bySigned.key).to.equal(acme.fp);
    expect(Buffer.from(bySigned.signature, 'base64')).to.have.length(64);
    // The unpacked size is signed only when the manifest has one, so it is part of the statement then.
    expect(artifactStatement('a', '1', { sha256: sha, size: 1, unpackedSize: 5 })).to.deep.equal({ name: 'a', version: '1', sha256: sha, size: 1, unpackedSize: 5 });
  });

  const cases: {
    name: string;
    statement?: typeof editor;
    signatures: PublisherSignature[];
    trusted: TrustedPublisher[];
    now?: string;
    result: ReturnType<typeof checkPublisher>;
  }[] = [
    { name: 'no key covers the name: nothing required', signatures: [], trusted: [trustAcme({ packages: ['db-*'] })], result: { ok: true, required: false } },
    { name: 'signed by the trusted key', signatures: [bySigned], trusted: [trustAcme()], result: { ok: true, required: true, key: acme.fp } },
    { name: '`*` covers every name', signatures: [bySigned], trusted: [trustAcme({ packages: ['*'] })], result: { ok: true, required: true, key: acme.fp } },
    {
      name: 'unsigned',
      signatures: [],
      trusted: [trustAcme()],
      result: { ok: false, reason: `text-editor 2.4.1 is not signed; a signature by ${acme.fp} is required (\`ferry package build --sign KEYFILE\`)` },
    },
    {
      name: 'signed by a key not trusted for the name',
      signatures: [byOther],
      trusted: [trustAcme()],
      result: { ok: false, reason: `signed by ${other.fp}, which is not trusted for text-editor (trusted: ${acme.fp})` },
    },
    {
      name: 'the artifact changed after signing',
      statement: { ...editor, sha256: 'cd'.repeat(32) },
      signatures: [bySigned],
      trusted: [trustAcme()],
      result: { ok: false, reason: `the signature by ${acme.fp} does not match text-editor 2.4.1 sha256 cdcdcdcdcdcd… (artifact or metadata changed after signing)` },
    },
    {
      name: 'the version changed after signing',
      statement: { ...editor, version: '2.4.2' },
      signatures: [bySigned],
      trusted: [trustAcme()],
      result: { ok: false, reason: `the signature by ${acme.fp} does not match text-editor 2.4.2 sha256 abababababab… (artifact or metadata changed after signing)` },
    },
    {
      name: 'revoked',
      signatures: [bySigned],
      trusted: [trustAcme({ revoked: 'laptop stolen', from: 'TrustPolicy acme' })],
      result: { ok: false, reason: `publisher key ${acme.fp} is revoked by TrustPolicy acme: laptop stolen`, lapsed: true },
    },
    {
      name: 'expired',
      signatures: [bySigned],
      trusted: [trustAcme({ expires: '2026-12-01T00:00:00Z' })],
      result: { ok: false, reason: `publisher key ${acme.fp} expired at 2026-12-01T00:00:00Z`, lapsed: true },
    },
    {
      name: 'expiry not checked without a time',
      signatures: [bySigned],
      trusted: [trustAcme({ expires: '2026-12-01T00:00:00Z' })],
      now: '',
      result: { ok: true, required: true, key: acme.fp },
    },
    { name: 'one good signature of two is enough', signatures: [byOther, bySigned], trusted: [trustAcme()], result: { ok: true, required: true, key: acme.fp } },
  ];
  for (const c of cases) {
    it(`checkPublisher: ${c.name}`, () => {
      expect(checkPublisher(c.statement ?? editor, c.signatures, c.trusted, c.now === '' ? undefined : (c.now ?? now))).to.deep.equal(c.result);
    });
  }
});

describe('core/signing an agent narrows its pinned keys by the plan, never widens them', () => {
  const pinned: TrustedPublisher[] = [{ key: acme.fp, publicKey: acme.publicKey, packages: ['*'], from: 'pinned' }];
  const action = (over: Partial<Parameters<typeof checkInstall>[0]> = {}) => ({
    package: 'text-editor',
    version: '2.4.1',
    artifact: { sha256: sha, size: 1000, signatures: [bySigned] },
    publishers: [{ key: acme.fp, packages: ['text-*'] }],
    ...over,
  });
  const stolenSig = signArtifact(editor, stolen.privateKey);
  const cases: { name: string; pinned?: TrustedPublisher[]; action: ReturnType<typeof action>; result: string | undefined }[] = [
    {
      name: 'no pinned keys: no publisher check (the controller alone decides, as before)',
      pinned: [],
      action: action({ artifact: { sha256: sha, size: 1000, signatures: [] } }),
      result: undefined,
    },
    { name: 'signed by a pinned key the plan declares', action: action(), result: undefined },
    {
      name: 'unsigned (a compromised controller planning an artifact no publisher signed)',
      action: action({ artifact: { sha256: sha, size: 1000, signatures: [] }, publishers: [] }),
      result: `publisher check: text-editor 2.4.1 is not signed; a signature by ${acme.fp} is required (\`ferry package build --sign KEYFILE\`)`,
    },
    {
      name: 'signed by a key the plan declares but the host never pinned (a compromised controller pushing a new TrustPolicy)',
      action: action({ artifact: { sha256: sha, size: 1000, signatures: [stolenSig] }, publishers: [{ key: stolen.fp, packages: ['*'] }] }),
      result: `publisher check: signed by ${stolen.fp}, which is not trusted for text-editor (trusted: ${acme.fp})`,
    },
    {
      name: 'revoked by the plan (a commit to the TrustPolicy)',
      action: action({ publishers: [{ key: acme.fp, packages: ['text-*'], revoked: 'key leaked' }] }),
      result: `publisher check: publisher key ${acme.fp} is revoked by the controller's TrustPolicy: key leaked`,
    },
    {
      name: 'expired by the plan',
      action: action({ publishers: [{ key: acme.fp, packages: ['text-*'], expires: '2026-12-04T00:00:00Z' }] }),
      result: `publisher check: publisher key ${acme.fp} expired at 2026-12-04T00:00:00Z (the controller's TrustPolicy)`,
    },
    {
      name: 'the pinned key dropped from the policy at this revision',
      action: action({ publishers: [] }),
      result: `publisher check: publisher key ${acme.fp} is revoked by the controller's TrustPolicy: not declared for text-editor at this revision`,
    },
    {
      name: 'a plan cannot widen a pinned key to names the host did not pin it for',
      pinned: [{ key: acme.fp, publicKey: acme.publicKey, packages: ['db-*'], from: 'pinned' }],
      action: action({ publishers: [{ key: acme.fp, packages: ['*'] }] }),
      result: undefined,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const verdict = checkInstall(c.action, c.pinned ?? pinned, now);
      expect(verdict.ok ? undefined : verdict.reason).to.equal(c.result);
    });
  }

  it('the earliest expiry of pin and plan wins; a pinned revocation stays whatever the plan says', () => {
    const pin = { ...pinned[0]!, expires: '2027-01-01T00:00:00Z' };
    const declared = { key: acme.fp, packages: ['*'], expires: '2026-12-31T00:00:00Z' };
    expect(narrowTrust([pin], [declared], 'x')).to.deep.equal([{ ...pin, expires: '2026-12-31T00:00:00Z', from: "the controller's TrustPolicy" }]);
    const early = { ...pin, expires: '2026-01-01T00:00:00Z' };
    expect(narrowTrust([early], [declared], 'x')).to.deep.equal([early]);
    const revoked = { ...pin, revoked: 'by hand' };
    expect(narrowTrust([revoked], [declared], 'x')).to.deep.equal([revoked]);
  });
});

describe('core/signing TrustPolicy in manifests: validate and the controller refuse with FILE:LINE', () => {
  const policy = (extra = '') =>
    [
      'apiVersion: ferry/v1',
      'kind: TrustPolicy',
      'metadata: {name: acme}',
      'spec:',
      '  publishers:',
      '    - name: acme release',
      '      publicKey: |',
      ...acme.publicKey
        .trim()
        .split('\n')
        .map((l) => `        ${l}`),
      '      packages: ["text-*"]',
      ...(extra ? [`      ${extra}`] : []),
      '',
    ].join('\n');
  const pkg = (sigs: PublisherSignature[], version = '2.4.1') =>
    [
      'apiVersion: ferry/v1',
      'kind: Package',
      'metadata: {name: text-editor}',
      'spec:',
      `  version: "${version}"`,
      '  artifact:',
      `    sha256: ${sha}`,
      '    size: 1000',
      ...(sigs.length ? ['    signatures:', ...sigs.map((s) => `      - {key: "${s.key}", signature: "${s.signature}"}`)] : []),
      '  install: {command: [sh, install.sh]}',
      '',
    ].join('\n');
  const load = (policyText: string, pkgText: string) =>
    loadManifests(
      [
        { path: 'trust.yaml', content: policyText },
        { path: 'packages.yaml', content: pkgText },
      ],
      { now },
    ).problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.severity}: ${p.message}`);

  const cases: { name: string; policy: string; pkg: string; problems: string[] }[] = [
    { name: 'signed by the trusted key: valid', policy: policy(), pkg: pkg([bySigned]), problems: [] },
    {
      name: 'unsigned',
      policy: policy(),
      pkg: pkg([]),
      problems: [`packages.yaml:6:3: error: text-editor 2.4.1 is not signed; a signature by ${acme.fp} is required (\`ferry package build --sign KEYFILE\`)`],
    },
    {
      name: 'signed for another version',
      policy: policy(),
      pkg: pkg([bySigned], '2.4.2'),
      problems: [`packages.yaml:9:5: error: the signature by ${acme.fp} does not match text-editor 2.4.2 sha256 abababababab… (artifact or metadata changed after signing)`],
    },
    {
      name: 'signed by an untrusted key',
      policy: policy(),
      pkg: pkg([byOther]),
      problems: [`packages.yaml:9:5: error: signed by ${other.fp}, which is not trusted for text-editor (trusted: ${acme.fp})`],
    },
    {
      name: 'revoked by commit: a warning (the revision applies, the planner blocks new installs)',
      policy: policy('revoked: "key leaked 2026-12-01"'),
      pkg: pkg([bySigned]),
      problems: [`packages.yaml:9:5: warning: publisher key ${acme.fp} is revoked by TrustPolicy acme: key leaked 2026-12-01; new installs of text-editor 2.4.1 are blocked`],
    },
    {
      name: 'expired: a warning too',
      policy: policy('expires: "2026-12-01T00:00:00Z"'),
      pkg: pkg([bySigned]),
      problems: [`packages.yaml:9:5: warning: publisher key ${acme.fp} expired at 2026-12-01T00:00:00Z (TrustPolicy acme); new installs of text-editor 2.4.1 are blocked`],
    },
    {
      name: 'a key that is not PEM',
      policy: policy().replace(/MCowBQYDK2Vw/, 'XXXXXXXXXXXX'),
      pkg: pkg([]),
      problems: ['trust.yaml:7:18: error: publicKey is not a PEM public key; paste PREFIX.pub as `ferry key generate` wrote it'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(load(c.policy, c.pkg)).to.deep.equal(c.problems);
    });
  }
});

describe('core/signing controller key transition', () => {
  const oldKey = pair();
  const newKey = pair();
  const base: Plan = {
    host: 'clt2',
    serial: 3,
    revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567',
    generatedAt: '2026-12-04T00:00:00Z',
    expiresAt: '2026-12-11T00:00:00Z',
    sources: [],
    actions: [],
  };
  /** Signed as the controller signs during a rotation: the old key's signature, the vouch, the new key's second signature. */
  const inTransition = (vouchingKey = oldKey.privateKey, secondKey = newKey.privateKey): Plan => {
    const plan = { ...base, keyTransition: vouchFor(newKey.publicKey, vouchingKey) };
    const second = signDocument(plan, secondKey).signature;
    return { ...signDocument(plan, oldKey.privateKey), nextSignature: second };
  };
  const rules = (publicKey: string) => ({ publicKey, host: 'clt2', now });
  const cases: { name: string; plan: Plan; pinned: string; result: ReturnType<typeof acceptPlan> }[] = [
    {
      name: 'pinned to the old key: accepted, and the vouched-for key is adopted',
      plan: inTransition(),
      pinned: oldKey.publicKey,
      result: { ok: true, adoptKey: newKey.publicKey },
    },
    { name: 'pinned to the new key already: the second signature is read', plan: inTransition(), pinned: newKey.publicKey, result: { ok: true } },
    { name: 'after the rotation: signed by the new key alone', plan: signDocument(base, newKey.privateKey), pinned: newKey.publicKey, result: { ok: true } },
    {
      name: 'a new key the pinned key did not vouch for',
      plan: inTransition(stolen.privateKey),
      pinned: oldKey.publicKey,
      result: { ok: false, reason: 'the plan announces a new controller key the pinned key did not vouch for' },
    },
    {
      name: 'a second signature not by the announced key',
      plan: inTransition(oldKey.privateKey, stolen.privateKey),
      pinned: oldKey.publicKey,
      result: { ok: false, reason: "the plan's second signature does not match the announced new controller key (signature does not match the pinned controller key)" },
    },
    {
      name: 'an agent that missed the rotation refuses plans signed by the new key alone',
      plan: signDocument(base, newKey.privateKey),
      pinned: oldKey.publicKey,
      result: { ok: false, reason: 'signature does not match the pinned controller key' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(acceptPlan(c.plan, rules(c.pinned))).to.deep.equal(c.result);
    });
  }
});

describe('core/signing the planner carries publisher signatures and trust into plans', () => {
  const manifests = (publisherExtra: string) => [
    {
      path: 'fleet.yaml',
      content: [
        'apiVersion: ferry/v1',
        'kind: TrustPolicy',
        'metadata: {name: acme}',
        'spec:',
        '  publishers:',
        '    - publicKey: |',
        ...acme.publicKey
          .trim()
          .split('\n')
          .map((l) => `        ${l}`),
        '      packages: ["text-*"]',
        ...(publisherExtra ? [`      ${publisherExtra}`] : []),
        '---',
        'apiVersion: ferry/v1',
        'kind: Package',
        'metadata: {name: text-editor}',
        'spec:',
        '  version: "2.4.1"',
        `  artifact: {sha256: ${sha}, size: 1000, signatures: [{key: "${bySigned.key}", signature: "${bySigned.signature}"}]}`,
        '  install: {command: [sh, install.sh]}',
        '---',
        'apiVersion: ferry/v1',
        'kind: Deployment',
        'metadata: {name: editor}',
        'spec:',
        '  packages: [{name: text-editor, version: "2.4.1"}]',
        '  targets: {hosts: [clt2]}',
        '',
      ].join('\n'),
    },
  ];
  const planned = (publisherExtra: string) => {
    const loaded = loadManifests(manifests(publisherExtra), { revision: 'r1' });
    expect(loaded.problems.filter((p) => p.severity === 'error')).to.deep.equal([]);
    const inventory = { host: 'clt2', facts: {}, labels: {}, software: [] };
    return planFleet(loaded.snapshot!, [inventory], { now: now, installed: [] }).plans.get('clt2')!.actions[0]!;
  };

  it('a trusted signature: planned, with the signature and the declared key in the action', () => {
    const a = planned('');
    expect({ status: a.status, artifact: a.artifact, publishers: a.publishers }).to.deep.equal({
      status: 'planned',
      artifact: { sha256: sha, size: 1000, signatures: [bySigned] },
      publishers: [{ key: acme.fp, packages: ['text-*'] }],
    });
  });

  it('a key revoked by commit: blocked with the reason, the revocation declared to the agent', () => {
    const a = planned('revoked: "laptop stolen"');
    expect({ status: a.status, reason: a.reason, publishers: a.publishers }).to.deep.equal({
      status: 'blocked',
      reason: `publisher: publisher key ${acme.fp} is revoked by TrustPolicy acme: laptop stolen`,
      publishers: [{ key: acme.fp, packages: ['text-*'], revoked: 'laptop stolen' }],
    });
  });

  it('a key expired by the planning day: blocked', () => {
    const a = planned('expires: "2026-12-01T00:00:00Z"');
    expect({ status: a.status, reason: a.reason }).to.deep.equal({
      status: 'blocked',
      reason: `publisher: publisher key ${acme.fp} expired at 2026-12-01T00:00:00Z (TrustPolicy acme)`,
    });
  });
});

describe('core/signing ferry plan --base names a TrustPolicy change', () => {
  it('a revocation shows as a publisher keys change on the actions it covers', () => {
    const action = {
      id: 'd/text-editor@2.4.1/install',
      deployment: 'd',
      package: 'text-editor',
      version: '2.4.1',
      op: 'install' as const,
      status: 'planned' as const,
      blockedBy: [],
      artifact: { sha256: sha, size: 1000, signatures: [bySigned] },
      publishers: [{ key: acme.fp, packages: ['text-*'] }],
      conditions: [],
      distribute: { multicast: false, wake: false },
      shutdownAfter: false,
      suspended: false,
    };
    const revoked = { ...action, status: 'blocked' as const, reason: 'publisher: revoked', publishers: [{ key: acme.fp, packages: ['text-*'], revoked: 'lost' }] };
    expect(diffAction(action, revoked)).to.deep.equal([
      { field: 'status', before: 'planned', after: 'blocked' },
      { field: 'reason', before: 'none', after: 'publisher: revoked' },
      { field: 'publishers', before: acme.fp, after: `${acme.fp} (revoked: lost)` },
    ]);
  });
});
