export { loadOrCreateKeys, InsecureKeyFileError, keyFileName, adminTokenFileName, type ControllerKeys } from './keys.js';
export { SigningPool } from './signing-pool.js';
