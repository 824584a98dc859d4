import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { keyFingerprint } from '../../../core/signing/index.js';
import { loadPinnedPublishers, TrustFileError, trustFile } from '../../../agent/trust/pinned-publishers.js';

describe('agent/trust pinned publisher keys', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-trust-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const pem = () => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it('--trust-publisher pins the key into DATA (mode 0600), once, and a later start without the flag keeps it', async () => {
    const key = pem();
    await writeFile(join(dir, 'acme.pub'), key);
    const first = await loadPinnedPublishers(dir, [join(dir, 'acme.pub'), join(dir, 'acme.pub')]);
    const expected = [{ key: keyFingerprint(key), publicKey: key, packages: ['*'], from: "this host's trusted-publishers.json" }];
    expect(first).to.deep.equal(expected);
    expect((await stat(trustFile(dir))).mode & 0o777).to.equal(0o600);
    expect(await loadPinnedPublishers(dir)).to.deep.equal(expected);
  });

  it('no trust file and no flag: nothing pinned', async () => {
    expect(await loadPinnedPublishers(dir)).to.deep.equal([]);
  });

  const bad: { name: string; file?: string; keyFile?: string; message: RegExp }[] = [
    { name: 'a damaged trust file', file: '{"publishers": [', message: /is not JSON/ },
    { name: 'an entry without a key', file: '{"publishers": [{"packages": ["*"]}]}', message: /publishers\[0\] has no publicKey/ },
    {
      name: 'a key file that is not ed25519',
      keyFile: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      message: /is not an ed25519 public key/,
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name} (the agent would rather not start than run unprotected)`, async () => {
      if (c.file !== undefined) await writeFile(trustFile(dir), c.file);
      if (c.keyFile !== undefined) await writeFile(join(dir, 'k.pub'), c.keyFile);
      const err = await loadPinnedPublishers(dir, c.keyFile !== undefined ? [join(dir, 'k.pub')] : []).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(TrustFileError);
      expect((err as Error).message).to.match(c.message);
    });
  }

  it('keeps what the file says about expiry, revocation and package names', async () => {
    const key = pem();
    await writeFile(trustFile(dir), JSON.stringify({ publishers: [{ publicKey: key, packages: ['acme-*'], expires: '2027-01-01T00:00:00Z', revoked: 'lost' }] }));
    expect(await loadPinnedPublishers(dir)).to.deep.equal([
      { key: keyFingerprint(key), publicKey: key, packages: ['acme-*'], expires: '2027-01-01T00:00:00Z', revoked: 'lost', from: "this host's trusted-publishers.json" },
    ]);
    expect(JSON.parse(await readFile(trustFile(dir), 'utf8')).publishers).to.have.length(1);
  });
});
