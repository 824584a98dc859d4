/** What `ferry suspend` and `ferry resume` share: set (or `--clear`) the operator override and show it next to git's. */
import type { Command } from 'commander';
import type { DeploymentOverride } from '../controller/store/store.js';
import type { SuspensionView } from '../controller/api/routes-admin.js';
import { addClientOptions, adminClient, type ClientOptions } from './client.js';
import { describeSuspension } from './status.js';

interface OverrideReply {
  readonly deployment: string;
  readonly suspended: SuspensionView;
  /** The override `--clear` removed. */
  readonly cleared?: DeploymentOverride;
}

interface OverrideOptions extends ClientOptions {
  readonly clear?: boolean;
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
    .option('--clear', "remove the operator override instead: git's spec.suspended applies again")
    .argument('<DEPLOYMENT>', 'deployment name')
    .action(async (deployment: string, opts: OverrideOptions) => {
      const action = opts.clear ? 'clear' : verb;
      const reply = await adminClient(opts).call<OverrideReply>('POST', `/v1/deployments/${encodeURIComponent(deployment)}/${action}`, {});
      if (opts.json) process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
      else process.stdout.write(`${reply.deployment}: ${opts.clear ? 'override cleared; now ' : ''}${describeSuspension(reply.suspended)}\n`);
    });
}
