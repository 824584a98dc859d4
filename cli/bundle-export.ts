/** `ferry bundle export (--host H | --group G) --out FILE [--valid 30d] [--split SIZE]`: an offline bundle from the controller. */
import type { Command } from 'commander';
import { parseSize } from '../core/manifest/units.js';
import { parseDuration } from '../core/units/duration.js';
import { writeBundleFiles } from '../agent/bundle/volumes.js';
import { addClientOptions, adminClient, type ClientOptions } from './client.js';
import { UserError } from './errors.js';

interface ExportOptions extends ClientOptions {
  readonly host?: string;
  readonly group?: string;
  readonly out: string;
  readonly valid: string;
  readonly split?: string;
}

export function configure(cmd: Command): void {
  addClientOptions(cmd.description("offline bundle: a host's signed plan, every artifact it needs and their sha256 index"), true)
    .option('--host <HOST>', 'the host (enrolled, or named in a Host manifest or a static group)')
    .option('--group <GROUP>', "every member of a group (each host's plan in one bundle)")
    .requiredOption('--out <FILE>', 'where to write the bundle')
    .option('--valid <DURATION>', "how long the bundle's plans stay valid", '30d')
    .option('--split <SIZE>', 'write numbered volumes FILE.001, FILE.002… of at most SIZE (e.g. 700MiB)')
    .action(async (opts: ExportOptions) => {
      if ((opts.host === undefined) === (opts.group === undefined)) throw new UserError('give --host H or --group G (one of them)');
      const validMs = parseDuration(opts.valid);
      if (validMs === undefined || validMs <= 0) throw new UserError(`--valid ${opts.valid} is not a duration; use e.g. 30d or 72h`);
      const volumeSize = opts.split === undefined ? undefined : parseSize(opts.split);
      if (opts.split !== undefined && (volumeSize === undefined || volumeSize < 1024 * 1024))
        throw new UserError(`--split ${opts.split} is not a size of at least 1MiB; use e.g. 700MiB or 4GiB`);
      const query = new URLSearchParams({ ...(opts.host ? { host: opts.host } : { group: opts.group! }), valid: opts.valid });
      const res = await adminClient(opts).stream(`/v1/bundles?${query}`);
      const files = await writeBundleFiles(res, opts.out, volumeSize);
      const result = {
        bundle: String(res.headers['x-ferry-bundle-id'] ?? ''),
        hosts: String(res.headers['x-ferry-bundle-hosts'] ?? '')
          .split(',')
          .filter(Boolean),
        files,
        fingerprint: String(res.headers['x-ferry-controller-fingerprint'] ?? ''),
      };
      if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        process.stdout.write(`${files.join('\n')}\n`);
        process.stdout.write(`controller key fingerprint: ${result.fingerprint}\n`);
        process.stderr.write(
          `bundle ${result.bundle} for ${result.hosts.join(', ')}; carry the fingerprint separately and apply with: ferry bundle apply ${files[0]} --controller-fingerprint ${result.fingerprint}\n`,
        );
      }
    });
}
