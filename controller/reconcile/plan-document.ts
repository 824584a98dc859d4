/** The signed plan an agent receives (DESIGN §5): the planner's HostPlan in its envelope. */
import { sign, type KeyObject, createPrivateKey } from 'node:crypto';
import type { Plan } from '../../core/plan/types.js';
import { canonicalPlanDocumentJson } from '../../core/planner/index.js';
import type { PlanSigner } from '../keys/index.js';
import type { UnsignedPlanRecord } from '../store/store.js';

const dayMs = 24 * 60 * 60 * 1000;
/** How long a plan is valid after it is signed; an agent freezes on an expired plan. */
export const planLifetimeMs = 7 * dayMs;
/** Plans are signed again (same serial, later expiry) once they are this close to expiring. */
export const resignBeforeMs = 1 * dayMs;

/** A plan document before its signature: the bytes to sign, and the stored document once signed. */
export interface UnsignedPlanDocument {
  /** RFC 8785 (JCS) text of the document without `signature`: exactly what the signature covers. */
  readonly text: string;
  /** `text` in the pieces it is made of (their concatenation is `text`), for a signer that takes parts. */
  readonly parts: readonly string[];
  /** The document with `signature` (base64) added, still in JCS key order: what agents are served. */
  withSignature(signature: string): string;
}

/**
 * The document of a stored plan, `signedAt` setting generatedAt and expiresAt. Its JCS text is
 * assembled around the planner's cached text of the actions and sources, and the signature goes in
 * where JCS puts it (keys sort actions < expiresAt < generatedAt < host < revision < serial <
 * signature < sources), so neither signing nor storing serialises the plan again.
 */
export function planDocument(record: UnsignedPlanRecord, signedAt: Date): UnsignedPlanDocument {
  const head = canonicalPlanDocumentJson({
    actions: record.body.actions,
    expiresAt: new Date(signedAt.getTime() + planLifetimeMs).toISOString(),
    generatedAt: signedAt.toISOString(),
    host: record.host,
    revision: record.revision,
    serial: record.serial,
  }).slice(0, -1);
  const sources = `,"sources":${canonicalPlanDocumentJson(record.body.sources)}}`;
  return {
    text: head + sources,
    parts: [head, sources],
    withSignature: (signature) => `${head},"signature":${JSON.stringify(signature)}${sources}`,
  };
}

/** The stored (served) text of a plan signed in this thread; see `planDocument`. */
export function signPlanText(record: UnsignedPlanRecord, signedAt: Date, key: string | KeyObject): string {
  const doc = planDocument(record, signedAt);
  const k = typeof key === 'string' ? createPrivateKey(key) : key;
  return doc.withSignature(sign(null, Buffer.from(doc.text, 'utf8'), k).toString('base64'));
}

/** Builds and signs the plan document of a stored plan; `signedAt` sets generatedAt and expiresAt. */
export function signPlan(record: UnsignedPlanRecord, signedAt: Date, key: string | KeyObject | PlanSigner): Plan & { signature: string } {
  if (typeof key === 'object' && 'sign' in key) {
    const plan: Plan = {
      host: record.host,
      serial: record.serial,
      revision: record.revision,
      generatedAt: signedAt.toISOString(),
      expiresAt: new Date(signedAt.getTime() + planLifetimeMs).toISOString(),
      sources: record.body.sources,
      actions: record.body.actions,
    };
    return key.sign(plan);
  }
  return JSON.parse(signPlanText(record, signedAt, key)) as Plan & { signature: string };
}

/**
 * True when a signed plan document is missing, unreadable, expires within `resignBeforeMs` of
 * `now`, or (given a signer) was signed otherwise than it signs: before or during a key rotation.
 */
export function needsResigning(signed: string | undefined, now: Date, signer?: PlanSigner): boolean {
  return signedUntilDue(signed, now, signer) === undefined;
}

/**
 * When a signed plan document that needs no re-signing yet (see `needsResigning`) was signed (its
 * generatedAt, ms); undefined when it needs re-signing. The document is parsed once.
 */
export function signedUntilDue(signed: string | undefined, now: Date, signer?: PlanSigner): number | undefined {
  if (signed === undefined) return undefined;
  let doc: Plan;
  try {
    doc = JSON.parse(signed) as Plan;
  } catch {
    return undefined;
  }
  if (signer && !signer.signedLikeThis(doc)) return undefined;
  const expires = typeof doc.expiresAt === 'string' ? Date.parse(doc.expiresAt) : Number.NaN;
  if (Number.isNaN(expires) || expires - now.getTime() < resignBeforeMs) return undefined;
  return Date.parse(doc.generatedAt);
}
