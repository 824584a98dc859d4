/**
 * Enrollment (DESIGN §4, §5): once per DATA directory. A stored credential is used as it is;
 * otherwise the enrollment token buys one, and the controller's public key is pinned with it
 * (or taken from `--controller-key`, which the controller's answer must then match).
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Facts } from '../../core/plan/types.js';
import { ApiFailure, type ControllerClient } from '../client/controller-client.js';
import { loadCredential, saveCredential, credentialFile, type Credential } from './credential.js';

export type EnrollProblem = 'no-token' | 'host-exists' | 'bad-token' | 'unreachable' | 'key-mismatch' | 'other-host' | 'refused';

/** Enrollment cannot go on; the message says what to do. */
export class EnrollError extends Error {
  constructor(
    readonly problem: EnrollProblem,
    message: string,
  ) {
    super(message);
    this.name = 'EnrollError';
  }
}

export interface EnrollOptions {
  readonly dataDir: string;
  readonly client: ControllerClient;
  /** The name to enroll as; a stored credential for another name is refused. */
  readonly host: string;
  /** True when the name came from `--name` (not the machine's hostname). */
  readonly hostGiven: boolean;
  readonly token?: string;
  readonly facts: Facts;
  readonly labels: Readonly<Record<string, string>>;
  /** `--controller-key FILE`: the PEM to pin instead of trusting the first answer. */
  readonly controllerKeyFile?: string;
}

/** The host's credential: the stored one, or a new one from the controller. Never enrolls twice. */
export async function ensureEnrolled(o: EnrollOptions): Promise<{ readonly credential: Credential; readonly enrolledNow: boolean }> {
  const pinned = o.controllerKeyFile ? await readKey(o.controllerKeyFile) : undefined;
  const stored = await loadCredential(o.dataDir);
  if (stored) {
    if (o.hostGiven && stored.host !== o.host) {
      throw new EnrollError('other-host', `${credentialFile(o.dataDir)} holds the credential of host ${stored.host}, not ${o.host}; use another --data directory for ${o.host}`);
    }
    if (pinned && !sameKey(pinned, stored.controllerKey)) {
      throw new EnrollError('key-mismatch', `--controller-key differs from the key pinned in ${credentialFile(o.dataDir)} at enrollment`);
    }
    return { credential: stored, enrolledNow: false };
  }
  if (!o.token) {
    throw new EnrollError('no-token', `this host is not enrolled yet: pass --enroll-token (make one with \`ferry token create\` on the controller)`);
  }
  let reply: Awaited<ReturnType<typeof o.client.enroll>>;
  try {
    reply = await o.client.enroll({ token: o.token, host: o.host, facts: o.facts, labels: o.labels });
  } catch (e) {
    if (!(e instanceof ApiFailure)) throw e;
    if (e.status === 409) {
      throw new EnrollError(
        'host-exists',
        `host ${o.host} is already enrolled with the controller; ask an admin to reset host ${o.host} if this machine replaces it, or choose another --name`,
      );
    }
    if (e.status === 401) throw new EnrollError('bad-token', `the controller refused the enrollment token: ${e.message}`);
    if (e.status === undefined || e.retryable) throw new EnrollError('unreachable', e.message);
    throw new EnrollError('refused', `enrollment refused: ${e.message}`);
  }
  if (pinned && !sameKey(pinned, reply.controllerKey)) {
    throw new EnrollError('key-mismatch', `the controller at ${o.client.server} answered with another key than --controller-key ${o.controllerKeyFile}; not trusting it`);
  }
  const credential: Credential = {
    server: o.client.server,
    host: reply.host,
    credential: reply.credential,
    controllerKey: pinned ?? reply.controllerKey,
    enrolledAt: new Date().toISOString(),
  };
  await saveCredential(o.dataDir, credential);
  return { credential, enrolledNow: true };
}

async function readKey(file: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
    createPublicKey(pem);
  } catch (e) {
    throw new EnrollError('key-mismatch', `--controller-key ${file}: not a readable public key PEM (${(e as Error).message})`);
  }
  return pem;
}

function sameKey(a: string, b: string): boolean {
  try {
    const der = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' });
    return der(a).equals(der(b));
  } catch {
    return false;
  }
}
