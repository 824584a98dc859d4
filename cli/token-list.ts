/** `ferry token list`: every enrollment token (never its secret): id, state, expiry, uses. */
import type { Command } from 'commander';
import type { TokenRecord } from '../controller/store/store.js';
import { addClientOptions, adminClient, table, type ClientOptions } from './client.js';

export type TokenView = TokenRecord & { readonly state: 'valid' | 'expired' | 'revoked' };

export function configure(cmd: Command): void {
  addClientOptions(cmd.description('list enrollment tokens: id, state, when they expire, how many hosts used them'), true).action(async (opts: ClientOptions) => {
    const { tokens } = await adminClient(opts).call<{ tokens: TokenView[] }>('GET', '/v1/tokens');
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ tokens }, null, 2)}\n`);
      return;
    }
    if (tokens.length === 0) {
      process.stdout.write('No enrollment tokens; make one with `ferry token create`.\n');
      return;
    }
    const rows = tokens.map((t) => [t.id, t.state, t.createdAt, t.revokedAt ?? t.expiresAt, String(t.uses), t.lastUsedAt ?? 'never']);
    process.stdout.write(table([['ID', 'STATE', 'CREATED', 'ENDS', 'USES', 'LAST USED'], ...rows]));
  });
}
