/** `ferry package push FILE`: uploads an artifact to the controller's content store, verified by sha256. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { sha256File } from '../lib/transfer/verified.js';
import { addClientOptions, adminClient, type ClientOptions } from './client.js';
import { UserError } from './errors.js';

export function configure(cmd: Command): void {
  addClientOptions(cmd.description("upload an artifact to the controller's content store (the controller verifies its sha256)"), true)
    .argument('<FILE>', 'the artifact (.tar.gz made by `ferry package build`)')
    .action(async (file: string, opts: ClientOptions) => {
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) throw new UserError(`${file} is not a file`);
      const client = adminClient(opts);
      const sha256 = await sha256File(file);
      const reply = await client.upload<{ sha256: string; size: number; existed: boolean }>('PUT', `/v1/content/${sha256}`, createReadStream(file), info.size);
      if (opts.json) process.stdout.write(`${JSON.stringify({ file, ...reply }, null, 2)}\n`);
      else {
        process.stdout.write(`sha256: ${reply.sha256}\nsize: ${reply.size}\n`);
        process.stderr.write(reply.existed ? `${client.server} already had this content\n` : `pushed ${file} to ${client.server}\n`);
      }
    });
}
