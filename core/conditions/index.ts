export { evaluateCondition } from './evaluate-condition.js';
export { formatBytes } from './binary-size.js';
export { softwareByName, reportsInstalled, asSemver } from './software-index.js';
