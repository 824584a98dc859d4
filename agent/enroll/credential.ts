/** `DATA/credential.json` (mode 0600): the host's identity with the controller and the pinned plan-signing key. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writePrivateFile } from '../../lib/write-private.js';

export interface Credential {
  /** The controller it was issued by. */
  readonly server: string;
  readonly host: string;
  /** Bearer secret for the agent API. */
  readonly credential: string;
  /** The controller's public key (SPKI PEM); plans must be signed by it. */
  readonly controllerKey: string;
  readonly enrolledAt: string;
}

export const credentialFile = (dataDir: string): string => join(dataDir, 'credential.json');

/** The stored credential, or undefined when this DATA has never enrolled. Throws when the file is unreadable or damaged. */
export async function loadCredential(dataDir: string): Promise<Credential | undefined> {
  let text: string;
  try {
    text = await readFile(credentialFile(dataDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const c = JSON.parse(text) as Partial<Credential>;
  if (typeof c.host !== 'string' || typeof c.credential !== 'string' || typeof c.controllerKey !== 'string') {
    throw new Error(`${credentialFile(dataDir)} is damaged (host, credential or controllerKey missing)`);
  }
  return c as Credential;
}

/** Writes the credential atomically with mode 0600 (fsynced before the rename). */
export async function saveCredential(dataDir: string, credential: Credential): Promise<void> {
  await writePrivateFile(credentialFile(dataDir), `${JSON.stringify(credential, null, 2)}\n`);
}
