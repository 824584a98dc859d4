/** `ferry results import FILE`: an offline host's results into the controller (idempotent). */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { addClientOptions, adminClient, type ClientOptions } from './client.js';
import { ExitCode, UserError } from './errors.js';

interface ImportReply {
  readonly host: string;
  readonly bundleId: string;
  readonly appliedAt: string;
  readonly accepted: number;
  readonly duplicates: number;
}

export function configure(cmd: Command): void {
  addClientOptions(cmd.description("bring an offline host's results file (from `ferry bundle apply`) into the controller"), true)
    .argument('<FILE>', 'the results file')
    .action(async (file: string, opts: ClientOptions) => {
      let body: unknown;
      try {
        body = JSON.parse(await readFile(file, 'utf8'));
      } catch (e) {
        throw new UserError(`${file}: not a results file (${(e as Error).message})`, ExitCode.notOk);
      }
      const reply = await adminClient(opts)
        .call<ImportReply>('POST', '/v1/results', body)
        .catch((e: unknown) => {
          // A refused or malformed file is "the thing checked is not ok", not a usage error.
          if (e instanceof UserError && e.exitCode === ExitCode.usage) throw new UserError(e.message, ExitCode.notOk);
          throw e;
        });
      if (opts.json) process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
      else process.stdout.write(`${reply.host}: ${reply.accepted} report(s) imported, ${reply.duplicates} already known (from a bundle, applied at ${reply.appliedAt})\n`);
    });
}
