export { evaluateCondition } from './evaluate-condition.js';
export { formatBytes } from '../units/bytes.js';
export { softwareByName, softwareNamed, reportsName, reportsInstalled, asSemver } from './software-index.js';
