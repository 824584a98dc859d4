/**
 * `ferry key generate --out PREFIX`: a publisher's ed25519 key pair — PREFIX.key (PKCS8 PEM,
 * mode 0600, kept offline by the publisher) and PREFIX.pub (SPKI PEM, pasted into a TrustPolicy
 * and pinned on agents with `--trust-publisher`). Prints the key's fingerprint.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { keyFingerprint } from '../core/signing/index.js';
import { UserError } from './errors.js';

interface KeyGenerateOptions {
  readonly out: string;
  readonly json?: boolean;
}

export function configure(cmd: Command): void {
  cmd
    .description('make an ed25519 publisher key pair: PREFIX.key (private, mode 0600) and PREFIX.pub')
    .requiredOption('--out <PREFIX>', 'path prefix of the two files, e.g. keys/acme-release')
    .option('--json', 'print {privateKey, publicKey, fingerprint} as JSON')
    .action(async (opts: KeyGenerateOptions) => {
      const made = await generateKeyFiles(opts.out);
      if (opts.json) process.stdout.write(`${JSON.stringify(made, null, 2)}\n`);
      else {
        process.stdout.write(`${made.fingerprint}\n`);
        process.stderr.write(
          `wrote ${made.privateKey} (keep it offline; sign with \`ferry package build --sign ${made.privateKey}\`) and ${made.publicKey} (paste into a TrustPolicy; pin on agents with --trust-publisher)\n`,
        );
      }
    });
}

/** Writes PREFIX.key and PREFIX.pub; refuses to overwrite either. */
export async function generateKeyFiles(prefix: string): Promise<{ privateKey: string; publicKey: string; fingerprint: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const files = { privateKey: `${prefix}.key`, publicKey: `${prefix}.pub` };
  await writeNew(files.privateKey, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  await writeNew(files.publicKey, publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);
  return { ...files, fingerprint: keyFingerprint(publicKey) };
}

async function writeNew(file: string, text: string, mode: number): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'wx', mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UserError(`${file} exists; choose another --out PREFIX (a key is never overwritten)`);
    throw new UserError(`cannot write ${file}: ${(e as Error).message}`);
  }
  try {
    await handle.writeFile(text, 'utf8');
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads a publisher's private key file: ed25519, not readable by group or others. */
export async function readPrivateKeyFile(file: string): Promise<KeyObject> {
  let text: string;
  try {
    const info = await stat(file);
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new UserError(`${file} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); run \`chmod 600 ${file}\``);
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read the key ${file}: ${(e as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch {
    throw new UserError(`${file} is not a PEM private key; make one with \`ferry key generate --out PREFIX\``);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new UserError(`${file} holds a ${key.asymmetricKeyType ?? 'unknown'} key; publisher keys are ed25519`);
  return key;
}
