export { loadOrCreateKeys, InsecureKeyFileError, keyFileName, adminTokenFileName, type ControllerKeys } from './keys.js';
export { SigningPool } from './signing-pool.js';
export { planSigner, rotateKey, NoRotationError, nextKeyFileName, type PlanSigner, type RotationStep } from './rotation.js';
