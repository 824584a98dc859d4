/** The manifest language (DESIGN §1): types, and loadManifests, the one way files become a Snapshot. */
export * from './types.js';
export { defaultLimits, loadManifests, type LoadOptions } from './load.js';
export { formatQuantity, parseQuantity, parseSize } from './units.js';
export { parseDuration } from '../units/duration.js';
