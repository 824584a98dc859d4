/** `ferry bundle apply FILE`: install from an offline bundle (DESIGN §3); everything is verified before anything runs. */
import type { Command } from 'commander';
import { hostName } from '../agent/agent.js';
import { applyBundle } from '../agent/bundle/apply.js';
import { DataLockedError } from '../agent/lock.js';
import { LogSink, TerminalSink } from '../agent/log/events.js';
import { ExitCode, UserError, setExitCode } from './errors.js';

interface ApplyFlags {
  readonly name?: string;
  readonly data: string;
  readonly installRoot: string;
  readonly controllerFingerprint?: string;
  readonly results?: string;
  readonly json?: boolean;
}

export function configure(cmd: Command): void {
  cmd
    .description('install from a bundle on an offline host; writes a signed results file and prints its path')
    .argument('<FILE>', 'the bundle, or its first volume FILE.001')
    .option('--name <HOST>', "this host's name (default: the enrolled name, else the machine's host name)")
    .option('--data <DIR>', 'agent state: journal, pinned controller key, content, unpacked packages', './ferry-agent')
    .option('--install-root <DIR>', 'FERRY_INSTALL_ROOT given to install programs', '/')
    .option('--controller-fingerprint <FP>', 'trust the controller key with this fingerprint (SHA256:…) when DATA has none pinned')
    .option('--results <FILE>', 'where to write the results file (default: next to the bundle)')
    .option('--json', 'print the outcome as JSON')
    .action(async (file: string, flags: ApplyFlags) => {
      const events = process.stderr.isTTY ? new TerminalSink() : new LogSink();
      try {
        const r = await applyBundle({
          file,
          dataDir: flags.data,
          installRoot: flags.installRoot,
          ...(flags.name !== undefined ? { name: flags.name } : {}),
          defaultName: hostName(),
          ...(flags.controllerFingerprint !== undefined ? { fingerprint: flags.controllerFingerprint } : {}),
          ...(flags.results !== undefined ? { results: flags.results } : {}),
          events,
        });
        if (!r.ok) throw new UserError(r.reason.startsWith('cannot write the results file') ? r.reason : `bundle refused: ${r.reason}; nothing was installed`, ExitCode.notOk);
        const outcomes = Object.fromEntries([...r.outcomes].sort(([a], [b]) => a.localeCompare(b)));
        if (flags.json) process.stdout.write(`${JSON.stringify({ host: r.host, serial: r.serial, results: r.resultsFile, outcomes }, null, 2)}\n`);
        else process.stdout.write(`${r.resultsFile}\n`);
        const failed = [...r.outcomes.values()].includes('failed');
        process.stderr.write(`applied plan ${r.serial} for ${r.host}: ${describe(r.outcomes)}; bring ${r.resultsFile} back and run \`ferry results import\` on it\n`);
        setExitCode(cmd, failed ? ExitCode.notOk : ExitCode.ok);
      } catch (e) {
        if (e instanceof DataLockedError) throw new UserError(e.message, ExitCode.notOk);
        throw e;
      } finally {
        events.close();
      }
    });
}

function describe(outcomes: ReadonlyMap<string, string>): string {
  const counts = new Map<string, number>();
  for (const o of outcomes.values()) counts.set(o, (counts.get(o) ?? 0) + 1);
  return counts.size === 0 ? 'nothing to do' : [...counts].map(([o, n]) => `${n} ${o}`).join(', ');
}
