export { resolveGroups, resolveGroupsIndexed, hostGroups, hostMembership } from './resolve-groups.js';
export { fleetHosts, inventoryIndex, replaces } from './host-universe.js';
export { SelectorIndex } from './selector-index.js';
export { readFact } from './fact-path.js';
