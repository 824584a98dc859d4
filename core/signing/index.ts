export { signedBytes, signDocument, verifyDocument, type Signable, type VerifyResult } from './signature.js';
export { acceptPlan, type PlanAcceptance } from './accept-plan.js';
export { keyFingerprint, sameFingerprint } from './fingerprint.js';
