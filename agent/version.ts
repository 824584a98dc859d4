/** The agent's version, reported in inventory (`agent.version`). */
export const agentVersion = '0.1.0';
