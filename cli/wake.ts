/** `ferry wake HOST | --group G`: send Wake-on-LAN magic packets now (POST /v1/hosts/{host}/wake, /v1/groups/{name}/wake). */
import type { Command } from 'commander';
import type { WakeResult } from '../controller/wake/wake-service.js';
import { addClientOptions, adminClient, type ClientOptions } from './client.js';
import { ExitCode, setExitCode, UserError } from './errors.js';

interface WakeFlags extends ClientOptions {
  readonly group?: string;
}

const line = (r: WakeResult): string => (r.ok ? `${r.host}: ${r.message}` : `${r.host}: not woken: ${r.message}`);

export function configure(cmd: Command): void {
  addClientOptions(cmd.description("send a Wake-on-LAN magic packet to a host (or every host of a group) now, from the controller's --wake-broadcast address"), true)
    .argument('[HOST]', 'the host to wake')
    .option('--group <G>', 'wake every host of this group (as the applied revision resolves it)')
    .action(async (host: string | undefined, opts: WakeFlags) => {
      if ((host === undefined) === (opts.group === undefined)) throw new UserError('give a HOST or --group G (one of them)');
      const client = adminClient(opts);
      if (host !== undefined) {
        const result = await client.call<WakeResult>('POST', `/v1/hosts/${encodeURIComponent(host)}/wake`, {});
        process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${line(result)}\n`);
        return;
      }
      const reply = await client.call<{ group: string; results: WakeResult[] }>('POST', `/v1/groups/${encodeURIComponent(opts.group!)}/wake`, {});
      if (opts.json) process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
      else process.stdout.write(reply.results.length === 0 ? `group ${reply.group} has no hosts\n` : `${reply.results.map(line).join('\n')}\n`);
      if (reply.results.some((r) => !r.ok)) setExitCode(cmd, ExitCode.notOk);
    });
}
