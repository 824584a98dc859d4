export { formatDuration, parseDuration } from './duration.js';
