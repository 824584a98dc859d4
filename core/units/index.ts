export { formatDuration, parseDuration } from './duration.js';
export { formatBytes } from './bytes.js';
