export { evaluateCondition } from './evaluate-condition.js';
export { formatBytes } from './binary-size.js';
export { softwareByName, softwareNamed, reportsName, reportsInstalled, asSemver } from './software-index.js';
