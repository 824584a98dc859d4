export { loadOrCreateKeys, InsecureKeyFileError, keyFileName, adminTokenFileName, type ControllerKeys } from './keys.js';
