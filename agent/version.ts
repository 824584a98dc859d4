/** The agent's version, reported in inventory (`agent.version`). */
export { ferryVersion as agentVersion } from '../lib/version.js';
