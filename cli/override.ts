/** What `ferry suspend` and `ferry resume` share: set the operator override and show it next to git's. */
import type { Command } from 'commander';
import type { SuspensionView } from '../controller/api/routes-admin.js';
import { addClientOptions, adminClient, type ClientOptions } from './client.js';
import { describeSuspension } from './status.js';

interface OverrideReply {
  readonly deployment: string;
  readonly suspended: SuspensionView;
}

export function configureOverride(cmd: Command, suspend: boolean): void {
  const verb = suspend ? 'suspend' : 'resume';
  addClientOptions(
    cmd.description(
      suspend
        ? 'suspend a deployment: new actions stop, transfers pause (an operator override stored in the controller, next to spec.suspended from git)'
        : 'resume a deployment suspended by an operator, by git or by its failure budget (an operator override)',
    ),
    true,
  )
    .argument('<DEPLOYMENT>', 'deployment name')
    .action(async (deployment: string, opts: ClientOptions) => {
      const reply = await adminClient(opts).call<OverrideReply>('POST', `/v1/deployments/${encodeURIComponent(deployment)}/${verb}`, {});
      if (opts.json) process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
      else process.stdout.write(`${reply.deployment}: ${describeSuspension(reply.suspended)}\n`);
    });
}
