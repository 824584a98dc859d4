/**
 * The controller's identity on disk (DESIGN §3, §5): an ed25519 signing key in
 * `DATA/controller.key` and the admin token in `DATA/admin.token`, both mode 0600.
 * Made on first start, read on every later one.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ControllerKeys {
  /** ed25519 private key, PKCS8 PEM: signs plans, bundles and results files. */
  readonly privateKeyPem: string;
  /** SPKI PEM of the same key: agents pin it at enrollment. */
  readonly publicKeyPem: string;
  /** Bearer token for the admin API. */
  readonly adminToken: string;
  /** During a key rotation (`--rotate-key`): the next key, PKCS8 PEM. */
  readonly nextPrivateKeyPem?: string;
}

/** A key file that is readable by others than its owner; the caller decides whether to refuse. */
export class InsecureKeyFileError extends Error {
  constructor(
    readonly file: string,
    readonly mode: number,
  ) {
    super(`${file} is readable by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); ` + `run \`chmod 600 ${file}\` and start again`);
    this.name = 'InsecureKeyFileError';
  }
}

export const keyFileName = 'controller.key';
export const adminTokenFileName = 'admin.token';

/**
 * Reads the controller's key and admin token from `dataDir`, creating each on first start.
 * Throws InsecureKeyFileError when an existing file is group- or world-accessible
 * (a leaked signing key lets anyone hand plans to every host).
 */
export async function loadOrCreateKeys(dataDir: string): Promise<ControllerKeys> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keyFile = join(dataDir, keyFileName);
  const tokenFile = join(dataDir, adminTokenFileName);

  const privateKeyPem = await readOrCreate(keyFile, () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${keyFile} holds a ${key.asymmetricKeyType ?? 'unknown'} key, not ed25519; move it away to make a new one`);
  }
  const publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();

  const adminToken = (await readOrCreate(tokenFile, () => `${randomBytes(32).toString('base64url')}\n`)).trim();
  if (adminToken.length < 16) throw new Error(`${tokenFile} holds no usable token; delete it to make a new one`);
  const nextPrivateKeyPem = await readOrCreate(join(dataDir, 'controller.next.key'), undefined).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  });
  return Object.freeze({ privateKeyPem, publicKeyPem, adminToken, ...(nextPrivateKeyPem !== undefined ? { nextPrivateKeyPem } : {}) });
}

/** Reads a 0600 secret file, first creating it with `make()` when given and the file is missing. */
export async function readOrCreate(file: string, make: (() => string) | undefined): Promise<string> {
  if (make !== undefined) {
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        const text = make();
        await handle.writeFile(text, 'utf8');
        await handle.sync();
        await chmod(file, 0o600); // the umask may have narrowed the mode further, never widened it
        return text;
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const info = await stat(file);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) throw new InsecureKeyFileError(file, info.mode);
  return readFile(file, 'utf8');
}
