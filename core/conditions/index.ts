export { evaluateCondition } from './evaluate-condition.js';
export { formatBytes } from '../units/bytes.js';
export { softwareByName, softwareNamed, reportsName, reportsInstalled } from './software-index.js';
export { asSemver } from '../versions/index.js';
