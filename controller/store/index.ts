/** The controller's store: the `Store` seam and `openStore()` for SQLite and PostgreSQL. */
export type * from './store.js';
export { openStore, parseStoreUrl, StoreUrlError, type OpenStoreOptions } from './open-store.js';
export { parseActionId, type ActionIdParts } from './action-id.js';
export { inventoryHash } from './inventories.js';
