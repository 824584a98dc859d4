/** `ferry resume DEPLOYMENT`. */
import type { Command } from 'commander';
import { configureOverride } from './override.js';

export function configure(cmd: Command): void {
  configureOverride(cmd, false);
}
