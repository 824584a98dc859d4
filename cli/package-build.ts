/**
 * `ferry package build DIR --name N --version V [--out DIR] [--source PATH|URL]
 *  [--install CMD] [--uninstall CMD] [--detect CMD]`:
 * packs DIR into OUT/N-V.tar.gz reproducibly and prints the Package manifest to commit.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { Document, Scalar, parse, type YAMLSeq } from 'yaml';
import { formatBytes } from '../core/units/bytes.js';
import { artifactStatement, signArtifact, type PublisherSignature } from '../core/signing/index.js';
import { buildArtifact, type ArtifactInfo } from './artifact.js';
import { readPrivateKeyFile } from './key.js';
import { ExitCode, UserError, setExitCode } from './errors.js';

/** The options of one `ferry package build` run, as parsed from the command line. */
export interface PackageBuildOptions {
  readonly name: string;
  readonly version: string;
  readonly out?: string;
  /** A path in the manifest repo or an http(s) URL; `false` (`--no-source`): omit it. */
  readonly source?: string | false;
  readonly install?: string;
  readonly uninstall?: string;
  readonly detect?: string;
  /** `yaml` (default): the manifest to append to a file; `json`: the artifact and the manifest as one JSON object. */
  readonly format?: 'yaml' | 'json';
  readonly json?: boolean;
  /** A publisher's private key file: sign the artifact (`ferry key generate`). */
  readonly sign?: string;
}

// The same rules as schemas/common.schema.json#/definitions/name and …/version.
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const VERSION = /^[0-9]+(\.[0-9]+)*([-+~][0-9A-Za-z][-0-9A-Za-z.+~]*)?$/;
const MAX_NAME = 63;
const MAX_VERSION = 64;

/** Defines the command's arguments, options and action on `cmd`. */
export function configure(cmd: Command): void {
  cmd
    .description('pack a folder into a reproducible .tar.gz and print the Package manifest to commit')
    .argument('<DIR>', 'folder holding the package files (install.sh, uninstall.sh, payload)')
    .requiredOption('--name <N>', 'package name: lower-case letters, digits, - and ., at most 63 characters')
    .requiredOption('--version <V>', 'package version: digits and dots, optionally -pre-release or +build, e.g. 2.4.1')
    .option('--out <DIR>', 'where to write N-V.tar.gz (default: the current directory)')
    .option('--source <PATH|URL>', 'spec.artifact.source to print: a path in the manifest repo or an http(s) URL')
    .option('--no-source', 'print no spec.artifact.source (the artifact will be pushed with `ferry package push`)')
    .option('--install <CMD>', 'install command, split into argv like a shell would (default: sh install.sh)')
    .option('--uninstall <CMD>', 'uninstall command (default: sh uninstall.sh when DIR has one)')
    .option('--detect <CMD>', 'command that exits 0 when the package is already installed')
    .addOption(new Option('--format <format>', 'yaml: the Package manifest; json: {file, sha256, size, entries, manifest}').choices(['yaml', 'json']).default('yaml'))
    .option('--json', 'same as --format json')
    .option('--sign <KEYFILE>', "sign name, version, sha256 and size with a publisher's ed25519 key (`ferry key generate`)")
    .addHelpText(
      'after',
      [
        '',
        'The manifest goes to stdout (append it to a manifest file), progress and notes to stderr.',
        'spec.artifact.source: --source when given; otherwise, when --out is given and lies under the',
        'current directory, the artifact path relative to it (run from the manifest repo root, e.g.',
        '`--out artifacts` gives `source: artifacts/N-V.tar.gz`); otherwise omitted.',
      ].join('\n'),
    )
    .action(async (dir: string, opts: PackageBuildOptions) => {
      setExitCode(cmd, await packageBuild(dir, opts));
    });
}

/** Builds the artifact, prints the manifest and returns the exit code; throws UserError on bad input. */
export async function packageBuild(dir: string, opts: PackageBuildOptions): Promise<number> {
  checkName('--name', opts.name, NAME, MAX_NAME, 'lower-case letters, digits, "-" and ".", starting and ending with a letter or digit');
  checkName('--version', opts.version, VERSION, MAX_VERSION, 'digits separated by dots, optionally followed by -pre-release or +build (2.4.1, 1.0.0-rc.1)');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`package folder ${dir} does not exist or is not a directory`);
  }
  const install = commandFor('--install', opts.install, dir, 'install.sh');
  if (!install) {
    throw new UserError(`${dir} has no install.sh; add one (run as \`sh install.sh\` in the unpacked artifact) or say how to install with --install "CMD"`);
  }
  const uninstall = commandFor('--uninstall', opts.uninstall, dir, 'uninstall.sh');
  const detect = opts.detect === undefined ? undefined : splitCommand('--detect', opts.detect);
  const signingKey = opts.sign === undefined ? undefined : await readPrivateKeyFile(opts.sign);

  const outDir = opts.out ?? '.';
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, `${opts.name}-${opts.version}.tar.gz`);
  const progress = progressReporter(file);
  const artifact = await buildArtifact(dir, file, { onProgress: progress.update });
  progress.stop();

  const source = sourceFor(opts, file);
  const signature =
    signingKey === undefined ? undefined : signArtifact(artifactStatement(opts.name, opts.version, { ...artifact, unpackedSize: artifact.contentBytes }), signingKey);
  const yaml = manifestYaml(opts, artifact, source, install, uninstall, detect, signature);
  if (opts.json || opts.format === 'json') {
    const manifest = parse(yaml) as unknown;
    process.stdout.write(`${JSON.stringify({ file, sha256: artifact.sha256, size: artifact.size, entries: artifact.entries, manifest }, null, 2)}\n`);
  } else process.stdout.write(yaml);
  if (signature) process.stderr.write(`signed by ${signature.key}\n`);
  process.stderr.write(`wrote ${file}: ${artifact.entries} entries, ${formatBytes(artifact.size)}, sha256 ${artifact.sha256}\n`);
  if (source === undefined) {
    process.stderr.write(`note: no spec.artifact.source; upload the artifact with \`ferry package push ${file}\`, or commit it to the manifest repo and set --source\n`);
  }
  return ExitCode.ok;
}

function checkName(flag: string, value: string, pattern: RegExp, max: number, rule: string): void {
  if (value.length > max || !pattern.test(value)) {
    throw new UserError(`${flag} '${value}' is not valid: use ${rule}, at most ${max} characters`);
  }
}

/** The argv for a command flag, or `[sh, defaultScript]` when the flag is absent and DIR has the script. */
function commandFor(flag: string, given: string | undefined, dir: string, defaultScript: string): string[] | undefined {
  if (given !== undefined) return splitCommand(flag, given);
  return existsSync(path.join(dir, defaultScript)) ? ['sh', defaultScript] : undefined;
}

/**
 * Splits a command line into argv the way a POSIX shell splits words: whitespace separates,
 * '…' and "…" group (backslash escapes inside "…" and outside quotes); nothing is expanded.
 */
export function splitCommand(flag: string, line: string): string[] {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new UserError(`${flag} "${line}" has an unclosed ${quote} quote`);
  if (inWord) argv.push(word);
  if (argv.length === 0) throw new UserError(`${flag} is empty; give the command to run, e.g. ${flag} "sh install.sh"`);
  return argv;
}

/** spec.artifact.source per the rule in the command's help; undefined: omit it. */
function sourceFor(opts: PackageBuildOptions, file: string): string | undefined {
  if (opts.source === false) return undefined;
  if (typeof opts.source === 'string') {
    const s = opts.source;
    if (/^https?:\/\//.test(s)) return s;
    if (s === '' || path.isAbsolute(s) || s.split(/[\\/]/).includes('..')) {
      throw new UserError(`--source '${s}' must be a path inside the manifest repo (relative, no "..") or an http(s) URL`);
    }
    return s.split(path.sep).join('/');
  }
  if (opts.out === undefined) return undefined;
  const rel = path.relative(process.cwd(), path.resolve(file));
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

function manifestYaml(
  opts: PackageBuildOptions,
  artifact: ArtifactInfo,
  source: string | undefined,
  install: string[],
  uninstall: string[] | undefined,
  detect: string[] | undefined,
  signature?: PublisherSignature,
): string {
  const version = new Scalar(opts.version);
  version.type = Scalar.QUOTE_DOUBLE;
  const flow = (argv: string[]): YAMLSeq => {
    const seq = doc.createNode(argv) as YAMLSeq;
    seq.flow = true;
    return seq;
  };
  const doc = new Document();
  doc.contents = doc.createNode({
    apiVersion: 'ferry/v1',
    kind: 'Package',
    metadata: { name: opts.name },
    spec: {
      version,
      // unpackedSize: agents refuse the archive as soon as it unpacks to more (agent/archive).
      artifact: {
        sha256: artifact.sha256,
        size: artifact.size,
        unpackedSize: artifact.contentBytes,
        ...(source === undefined ? {} : { source }),
        ...(signature ? { signatures: [signature] } : {}),
      },
      install: { command: null },
      ...(uninstall ? { uninstall: { command: null } } : {}),
      ...(detect ? { detect: { command: null } } : {}),
    },
  }) as Document['contents'];
  doc.setIn(['spec', 'install', 'command'], flow(install));
  if (uninstall) doc.setIn(['spec', 'uninstall', 'command'], flow(uninstall));
  if (detect) doc.setIn(['spec', 'detect', 'command'], flow(detect));
  return `---\n${doc.toString({ lineWidth: 0, flowCollectionPadding: false })}`;
}

/** A progress line on stderr for folders over 16 MiB when stderr is a terminal. */
function progressReporter(file: string): { update: (done: number, total: number) => void; stop: () => void } {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  let last = 0;
  return {
    update(done, total) {
      if (!tty || total < 16 * 1024 * 1024) return;
      const now = Date.now();
      if (now - last < 200 && done < total) return;
      last = now;
      shown = true;
      const pct = Math.floor((done / total) * 100);
      process.stderr.write(`\rpacking ${file}: ${pct}% of ${formatBytes(total)}`);
    },
    stop() {
      if (shown) process.stderr.write('\n');
    },
  };
}
