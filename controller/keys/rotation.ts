/**
 * Controller key rotation (docs/security.md#rotating-the-controller-key). `ferry controller
 * --rotate-key` makes `DATA/controller.next.key` (mode 0600) if there is none: from then on, until
 * the rotation is finished, every plan carries the next public key, the current key's vouch for it
 * and a second signature by the next key, and hosts enrolling are given the next key. Agents
 * pinned to the current key adopt the next one on their next plan. `--rotate-key finish` makes
 * the next key the controller's key and deletes the old one: plans are signed by the new key
 * alone and the old key can sign nothing any more.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plan } from '../../core/plan/types.js';
import { keyFingerprint, signDocument, vouchFor, type KeyTransition } from '../../core/signing/index.js';
import { keyFileName, readOrCreate } from './keys.js';

export const nextKeyFileName = 'controller.next.key';

/** Signs plan documents with the controller's key, and during a rotation with the next key too. */
export interface PlanSigner {
  /** The plan with `signature` (and, during a rotation, `keyTransition` and `nextSignature`). */
  sign(plan: Plan): Plan & { signature: string };
  /**
   * True when a stored document was signed in this signer's rotation phase: no key transition
   * outside a rotation, this next key during one. Structural, no signature check, so the first
   * upkeep after a start costs no crypto per host.
   */
  signedLikeThis(doc: Plan): boolean;
  /** SPKI PEM hosts pin at enrollment: the next key during a rotation. */
  readonly enrollmentKeyPem: string;
  /** The one private key (PKCS8 PEM) when no rotation is under way: plans may then be signed as bare texts, on worker threads (signing-pool.ts). */
  readonly singleKeyPem?: string;
}

/** A signer for the current key and, when rotating, the next one. */
export function planSigner(currentPem: string, nextPem?: string): PlanSigner {
  const current = createPrivateKey(currentPem);
  const currentPublic = createPublicKey(current);
  if (nextPem === undefined) {
    return {
      sign: (plan) => signDocument(plan, current),
      signedLikeThis: (doc) => doc.keyTransition === undefined,
      enrollmentKeyPem: currentPublic.export({ type: 'spki', format: 'pem' }).toString(),
      singleKeyPem: currentPem,
    };
  }
  const next: KeyObject = createPrivateKey(nextPem);
  const nextPublic = createPublicKey(next).export({ type: 'spki', format: 'pem' }).toString();
  const transition: KeyTransition = vouchFor(nextPublic, current);
  return {
    sign(plan) {
      const announced = { ...plan, keyTransition: transition };
      const nextSignature = signDocument(announced, next).signature;
      return { ...signDocument(announced, current), nextSignature };
    },
    signedLikeThis: (doc) => doc.keyTransition?.publicKey === nextPublic,
    enrollmentKeyPem: nextPublic,
  };
}

export type RotationStep = 'start' | 'finish';

/** `--rotate-key finish` without a rotation under way. */
export class NoRotationError extends Error {
  override readonly name = 'NoRotationError';
}

/** What a rotation step did, for the controller's log. */
export interface RotationOutcome {
  readonly message: string;
}

/** Carries out `--rotate-key [start|finish]` on DATA before the controller loads its keys. */
export async function rotateKey(dataDir: string, step: RotationStep): Promise<RotationOutcome> {
  const nextFile = join(dataDir, nextKeyFileName);
  const keyFile = join(dataDir, keyFileName);
  if (step === 'start') {
    const pem = await readOrCreate(nextFile, () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    return { message: `key rotation under way: plans carry the next key ${keyFingerprint(createPublicKey(pem))} vouched for by the current key, and both signatures` };
  }
  let pem: string;
  try {
    pem = await readOrCreate(nextFile, undefined);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NoRotationError(`no key rotation under way (${nextFile} is missing): start one with --rotate-key`);
    throw e;
  }
  // The rename replaces controller.key: the old key is gone, so nothing can be signed with it any more.
  await rename(nextFile, keyFile);
  return { message: `key rotation finished: plans are signed by ${keyFingerprint(createPublicKey(pem))} alone; the old key is deleted` };
}
