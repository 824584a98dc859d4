export { resolveGroups, resolveGroupsIndexed, hostGroups } from './resolve-groups.js';
export { fleetHosts, inventoryIndex, replaces } from './host-universe.js';
export { selectorMatches, SelectorIndex } from './selector-index.js';
export { readFact } from './fact-path.js';
