export { signedBytes, signDocument, verifyDocument, type Signable, type VerifyResult } from './signature.js';
export { acceptPlan, type PlanAcceptance, type PlanVerdict } from './accept-plan.js';
export { sameKey, vouchFor, vouchHolds, vouchBytes, type KeyTransition } from './key-transition.js';
export {
  artifactStatement,
  checkInstall,
  checkPublisher,
  coversPackage,
  narrowTrust,
  signArtifact,
  statementBytes,
  type ArtifactStatement,
  type DeclaredPublisher,
  type PlannedArtifact,
  type PublisherSignature,
  type PublisherVerdict,
  type TrustedPublisher,
} from './publisher.js';
export { keyFingerprint, sameFingerprint } from './fingerprint.js';
