import { Command, CommanderError } from 'commander';
import { commands, type CommandEntry } from './commands.js';
import { ferryVersion as version } from '../lib/version.js';
import { ExitCode, UserError, exitCodeOf, reportError } from './errors.js';
import { closest } from '../core/manifest/suggest.js';

function helpText(): string {
  const rows = commands.map((c) => {
    const name = `${c.words.join(' ')} ${c.usage}`.trim();
    const note = c.load ? '' : ' (not built yet)';
    return `  ${name.padEnd(46)} ${c.summary}${note}`;
  });
  return [
    'Usage: ferry <command> [options]',
    '',
    'Ferry distributes and installs software on a fleet of hosts from manifests in git.',
    '',
    'Commands:',
    ...rows,
    '',
    'Run `ferry <command> --help` for the options of one command.',
    'Exit codes: 0 ok, 1 the thing checked is not ok, 2 usage error, 3 cannot reach/authenticate.',
    '',
  ].join('\n');
}

function findEntry(argv: readonly string[]): CommandEntry | undefined {
  const byLength = [...commands].sort((a, b) => b.words.length - a.words.length);
  return byLength.find((c) => c.words.every((w, i) => argv[i] === w));
}

/** Runs one ferry invocation and resolves to its exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  // `ferry help validate` is `ferry validate --help`.
  if (argv[0] === 'help' && argv.length > 1) return main([...argv.slice(1), '--help']);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(helpText());
    return argv.length === 0 ? ExitCode.usage : ExitCode.ok;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`${version}\n`);
    return ExitCode.ok;
  }
  const entry = findEntry(argv);
  if (!entry) {
    const group = commands.filter((c) => c.words[0] === argv[0]);
    const near = closest(argv[0] ?? '', new Set(commands.map((c) => c.words[0]!)));
    const hint =
      group.length > 0
        ? `; try ${group.map((c) => `\`ferry ${c.words.join(' ')}\``).join(' or ')}`
        : near !== undefined
          ? `; did you mean \`ferry ${near}\`? (run \`ferry --help\` for every command)`
          : '; run `ferry --help`';
    return reportError(new UserError(`unknown command '${argv.slice(0, 2).join(' ')}'${hint}`));
  }
  const name = entry.words.join(' ');
  if (!entry.load) {
    return reportError(new UserError(`\`ferry ${name}\` is not built yet in this version of Ferry`));
  }
  const cmd = new Command(`ferry ${name}`)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');
  const mod = await entry.load();
  mod.configure(cmd);
  let code: number = ExitCode.ok;
  try {
    const rest = argv.slice(entry.words.length);
    await cmd.parseAsync([...rest], { from: 'user' });
    code = exitCodeOf(cmd);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    return reportError(err);
  }
  return code;
}

const isEntry = process.argv[1] !== undefined && import.meta.url.endsWith('/cli/main.js');
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.exitCode = reportError(err);
    },
  );
}
