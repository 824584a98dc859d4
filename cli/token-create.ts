/** `ferry token create [--ttl 24h]`: an enrollment token for `ferry agent --enroll-token`. */
import type { Command } from 'commander';
import { addClientOptions, adminClient, type ClientOptions } from './client.js';
import { parseDuration } from '../core/units/duration.js';
import { UserError } from './errors.js';

interface TokenCreateOptions extends ClientOptions {
  readonly ttl: string;
}

export function configure(cmd: Command): void {
  addClientOptions(cmd.description('make an enrollment token (valid for many hosts until it expires)'), true)
    .option('--ttl <DURATION>', 'how long the token enrolls hosts: 30m, 24h, 7d', '24h')
    .action(async (opts: TokenCreateOptions) => {
      const ttl = opts.ttl.trim();
      if (parseDuration(ttl) === undefined) throw new UserError(`--ttl ${opts.ttl} is not a duration; use e.g. 30m, 24h, 1h30m or 7d`);
      const created = await adminClient(opts).call<{ token: string; id: string; expiresAt: string }>('POST', '/v1/tokens', { ttl });
      if (opts.json) process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
      else {
        process.stdout.write(`${created.token}\n`);
        process.stderr.write(
          `id ${created.id} (\`ferry token revoke ${created.id}\` ends it), expires ${created.expiresAt}; enroll with: ferry agent --server URL --enroll-token ${created.token}\n`,
        );
      }
    });
}
