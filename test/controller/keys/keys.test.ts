import { expect } from 'chai';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDocument, verifyDocument } from '../../../core/signing/index.js';
import { InsecureKeyFileError, loadOrCreateKeys } from '../../../controller/keys/index.js';

describe('controller/keys loadOrCreateKeys', () => {
  let data: string;
  beforeEach(async () => {
    data = await mkdtemp(join(tmpdir(), 'ferry-keys-'));
  });
  afterEach(() => rm(data, { recursive: true, force: true }));

  it('makes an ed25519 key and an admin token, mode 0600, on first start and reads the same ones later', async () => {
    const first = await loadOrCreateKeys(join(data, 'new'));
    const keyFile = join(data, 'new', 'controller.key');
    const tokenFile = join(data, 'new', 'admin.token');
    expect((await stat(keyFile)).mode & 0o777).to.equal(0o600);
    expect((await stat(tokenFile)).mode & 0o777).to.equal(0o600);
    expect(await readFile(keyFile, 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(first.adminToken).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(first.publicKeyPem).to.match(/^-----BEGIN PUBLIC KEY-----\n/);

    const again = await loadOrCreateKeys(join(data, 'new'));
    expect(again).to.deep.equal(first);
    const doc: { host: string; serial: number; signature?: string } = { host: 'h1', serial: 1 };
    const signed = signDocument(doc, again.privateKeyPem);
    expect(verifyDocument(signed, first.publicKeyPem)).to.deep.equal({ ok: true });
  });

  it('refuses a key file readable by group or others, saying how to fix it', async () => {
    await loadOrCreateKeys(data);
    await chmod(join(data, 'controller.key'), 0o644);
    let error: unknown;
    await loadOrCreateKeys(data).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(InsecureKeyFileError);
    expect((error as Error).message).to.equal(
      `${join(data, 'controller.key')} is readable by group or others (mode 0644); run \`chmod 600 ${join(data, 'controller.key')}\` and start again`,
    );
  });

  it('refuses a key that is not ed25519', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(join(data, 'controller.key'), rsa, { mode: 0o600 });
    let error: unknown;
    await loadOrCreateKeys(data).catch((err: unknown) => (error = err));
    expect((error as Error).message).to.match(/holds a rsa key, not ed25519/);
  });
});
