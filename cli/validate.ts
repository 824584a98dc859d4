/**
 * `ferry validate [DIR] [--format text|json | --json] [--strict]`: loads every manifest under DIR and
 * prints each problem as FILE:LINE:COL: severity: message, then a summary. Exit 0 valid
 * (warnings allowed unless --strict), 1 not valid, 2 usage errors.
 */
import { stat } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { readManifestDir } from '../controller/source/manifest-dir.js';
import { loadManifests, type LoadResult, type Problem } from '../core/manifest/index.js';
import { ExitCode, UserError, setExitCode } from './errors.js';

/** The options of one `ferry validate` run. */
export interface ValidateOptions {
  readonly format: 'text' | 'json';
  readonly strict: boolean;
}

/** Defines the command's arguments, options and action on `cmd`. */
export function configure(cmd: Command): void {
  cmd
    .description('validate manifests: every problem as FILE:LINE:COL, then a summary')
    .argument('[DIR]', 'the manifest directory (every *.yaml/*.yml under it, dot-folders skipped)', '.')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--json', 'same as --format json')
    .option('--strict', 'warnings make the manifests invalid too (exit 1)', false)
    .addHelpText('after', '\nExit codes: 0 valid, 1 not valid, 2 usage error. Run it in pull-request CI on the manifest folder.')
    .action(async (dir: string, opts: ValidateOptions & { readonly json?: boolean }) => {
      setExitCode(cmd, await validate(dir, { format: opts.json ? 'json' : opts.format, strict: opts.strict }));
    });
}

/** Validates DIR, writes the report to stdout and returns the exit code; throws UserError when DIR is unusable. */
export async function validate(dir: string, opts: ValidateOptions): Promise<number> {
  await requireDirectory(dir);
  const result = loadManifests(await readManifestDir(dir), { now: new Date().toISOString() });
  const summary = summarise(result);
  const valid = summary.errors === 0 && !(opts.strict && summary.warnings > 0);
  process.stdout.write(opts.format === 'json' ? `${JSON.stringify(jsonReport(result, summary, valid), null, 2)}\n` : textReport(result, summary, valid));
  return valid ? ExitCode.ok : ExitCode.notOk;
}

interface Summary {
  readonly errors: number;
  readonly warnings: number;
  readonly files: number;
  readonly resources: number;
}

function summarise(result: LoadResult): Summary {
  const errors = result.problems.filter((p) => p.severity === 'error').length;
  return {
    errors,
    warnings: result.problems.length - errors,
    files: result.stats?.files ?? 0,
    resources: result.stats?.resources ?? 0,
  };
}

function textReport(result: LoadResult, s: Summary, valid: boolean): string {
  const lines = result.problems.map(formatProblem);
  const counts = `${plural(s.resources, 'resource')} in ${plural(s.files, 'file')}`;
  if (s.errors === 0 && s.warnings === 0) lines.push(`ok: ${counts}`);
  else {
    const found = [s.errors > 0 || s.warnings === 0 ? plural(s.errors, 'error') : '', s.warnings > 0 ? plural(s.warnings, 'warning') : ''].filter(Boolean).join(', ');
    lines.push(`${valid ? 'ok with ' : ''}${found} in ${plural(s.files, 'file')} (${plural(s.resources, 'resource')})${!valid && s.errors === 0 ? ' (--strict)' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `FILE:LINE:COL: error|warning: message`. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.severity}: ${p.message}`;
}

function jsonReport(result: LoadResult, summary: Summary, valid: boolean) {
  return {
    valid,
    problems: result.problems.map((p) => ({ file: p.file, line: p.line, col: p.col, severity: p.severity, message: p.message })),
    summary,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

async function requireDirectory(dir: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new UserError(`${dir} does not exist; give the manifest directory, e.g. \`ferry validate examples/manifests\``);
  }
  if (!isDir) throw new UserError(`${dir} is not a directory; give the folder that holds the manifests, not a file`);
}
