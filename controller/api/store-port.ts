/** The parts of the controller the API reads and writes through. */
export type { Store as ApiStore } from '../store/store.js';
export type { ContentStore as ApiContentStore } from '../content/content-store.js';
