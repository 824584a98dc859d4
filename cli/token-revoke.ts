/** `ferry token revoke ID|TOKEN`: ends an enrollment token now; hosts it enrolled keep their credentials. */
import type { Command } from 'commander';
import { addClientOptions, adminClient, type ClientOptions } from './client.js';
import type { TokenView } from './token-list.js';

export function configure(cmd: Command): void {
  addClientOptions(cmd.description('revoke an enrollment token now (hosts it enrolled stay enrolled)'), true)
    .argument('<ID|TOKEN>', 'its id from `ferry token list`, or the token itself')
    .action(async (id: string, opts: ClientOptions) => {
      const { token } = await adminClient(opts).call<{ token: TokenView }>('POST', `/v1/tokens/${encodeURIComponent(id)}/revoke`, {});
      if (opts.json) process.stdout.write(`${JSON.stringify({ token }, null, 2)}\n`);
      else process.stdout.write(`token ${token.id} revoked at ${token.revokedAt}; it enrolled ${token.uses} host(s), which stay enrolled\n`);
    });
}
