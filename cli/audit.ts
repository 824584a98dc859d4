import type { Command } from 'commander';
export function configure(cmd: Command): void {
  cmd.description('not built yet');
}
