/**
 * `ferry plan [DIR] --inventory FILE [--host H] [--base REV [--head REV]] [--format text|markdown|json] [--now T]`:
 * the plan of every host for the manifests in DIR, or — with `--base` — what changes between two
 * revisions of them: the pull-request preview.
 */
import { stat } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { loadManifests } from '../core/manifest/index.js';
import type { ManifestFile, Problem, Snapshot } from '../core/manifest/types.js';
import type { HostPlan, Inventory } from '../core/plan/types.js';
import { diffFleetPlans, renderDiffJson, renderDiffMarkdown, renderDiffText, renderPlansJson, renderPlansText, type FleetPlans } from '../core/plan-diff/index.js';
import { planFleet, type InstalledRecord } from '../core/planner/index.js';
import { readManifestDir } from '../controller/source/manifest-dir.js';
import { GitRevisionError, readManifestsAtRevision } from '../controller/source/git-revision.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { ExitCode, UserError, setExitCode } from './errors.js';
import { readInventoryFile } from './plan-inventory.js';

type Format = 'text' | 'markdown' | 'json';

/** The options of one `ferry plan` run, after parsing. */
export interface PlanOptions {
  readonly dir: string;
  readonly inventory: string;
  readonly host?: string;
  readonly base?: string;
  readonly head?: string;
  readonly format: Format;
  /** RFC 3339 UTC. */
  readonly now: string;
}

/** One side of the comparison: which revision, and its manifests once loaded. */
interface Side {
  /** `base` or `head`; shown before problems when two revisions are compared. */
  readonly role: 'base' | 'head';
  /** What the user named: a git revision, or `worktree`. */
  readonly label: string;
  readonly revision: string;
  readonly problems: readonly Problem[];
  readonly snapshot?: Snapshot;
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** `--now` as RFC 3339 UTC (whole seconds stay whole); a usage error when it is not RFC 3339. */
export function parseNow(value: string | undefined, clock: Clock = systemClock): string {
  const date = value === undefined ? new Date(Math.floor(clock.now() / 1000) * 1000) : new Date(value);
  if (value !== undefined && (!rfc3339.test(value) || Number.isNaN(date.getTime()))) {
    throw new UserError(`--now '${value}' is not an RFC 3339 time; write it like 2026-12-01T09:00:00Z`);
  }
  return date.toISOString().replace('.000Z', 'Z');
}

async function readSide(dir: string, role: Side['role'], rev: string | undefined): Promise<Side> {
  let files: ManifestFile[];
  let revision: string;
  if (rev === undefined) {
    files = await readManifestDir(dir);
    revision = 'worktree';
  } else {
    try {
      ({ files, revision } = await readManifestsAtRevision(dir, rev));
    } catch (err) {
      if (err instanceof GitRevisionError) throw new UserError(`--${role} ${rev}: ${err.message}`);
      throw err;
    }
  }
  const result = loadManifests(files, { revision });
  return {
    role,
    label: rev ?? 'worktree',
    revision,
    problems: result.problems,
    ...(result.snapshot ? { snapshot: result.snapshot } : {}),
  };
}

/** `FILE:LINE:COL: error: message`, prefixed with the side when two revisions are compared. */
function problemLine(p: Problem, prefix: string): string {
  return `${prefix}${p.file}:${p.line}:${p.col}: ${p.severity}: ${p.message}`;
}

/**
 * "What Ferry installed where", read from the inventory: a software item with source `ferry` counts
 * as installed by every deployment (in any of the snapshots) that names that package and version as
 * present. The onLeave of the first snapshot (the base) wins, as it is the one in force.
 */
export function installedFromInventory(inventories: readonly Inventory[], snapshots: readonly Snapshot[]): InstalledRecord[] {
  const byPackage = new Map<string, Map<string, 'keep' | 'uninstall'>>();
  for (const snapshot of snapshots) {
    for (const deployment of snapshot.deployments.values()) {
      for (const p of deployment.spec.packages) {
        if (p.state !== 'present') continue;
        const key = `${p.name}@${p.version}`;
        const deployments = byPackage.get(key) ?? new Map<string, 'keep' | 'uninstall'>();
        if (!deployments.has(deployment.metadata.name)) deployments.set(deployment.metadata.name, deployment.spec.onLeave);
        byPackage.set(key, deployments);
      }
    }
  }
  const records: InstalledRecord[] = [];
  for (const inventory of inventories) {
    for (const item of inventory.software) {
      if (item.source !== 'ferry') continue;
      const deployments = byPackage.get(`${item.name}@${item.version}`);
      for (const [deployment, onLeave] of deployments ?? []) {
        records.push({ host: inventory.host, deployment, package: item.name, version: item.version, onLeave });
      }
    }
  }
  return records;
}

function onlyHost(plans: ReadonlyMap<string, HostPlan>, host: string | undefined): FleetPlans {
  if (host === undefined) return { plans };
  const plan = plans.get(host);
  return { plans: new Map(plan ? [[host, plan]] : []) };
}

function problemsMarkdown(sides: readonly Side[]): string {
  const lines = ['### Ferry plan: the manifests are invalid', ''];
  for (const side of sides) {
    const errors = side.problems.filter((p) => p.severity === 'error');
    if (errors.length === 0) continue;
    lines.push(`**${side.role} \`${side.label}\`**: ${errors.length} ${errors.length === 1 ? 'error' : 'errors'}`, '', '```');
    lines.push(...errors.map((p) => problemLine(p, '')), '```', '');
  }
  lines.push('Run `ferry validate` on the manifest directory to see every problem.');
  return `${lines.join('\n')}\n`;
}

/** Runs `ferry plan`: writes the plans or their diff to stdout and returns the exit code. */
export async function runPlan(options: PlanOptions): Promise<number> {
  const isDir = await stat(options.dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new UserError(`the manifest directory '${options.dir}' does not exist; pass the folder holding the *.yaml manifests`);
  const inventories = await readInventoryFile(options.inventory);
  if (options.host !== undefined && !inventories.some((i) => i.host === options.host)) {
    const known = inventories.map((i) => i.host).sort();
    const list = known.length > 10 ? `${known.slice(0, 10).join(', ')}, …` : known.join(', ') || 'none';
    throw new UserError(`--host ${options.host}: no such host in ${options.inventory} (hosts there: ${list})`);
  }
  const comparing = options.base !== undefined;
  const sides = await Promise.all([...(comparing ? [readSide(options.dir, 'base', options.base)] : []), readSide(options.dir, 'head', options.head)]);
  const prefixOf = (side: Side): string => (comparing ? `${side.role} ${side.label}: ` : '');
  for (const side of sides) {
    for (const p of side.problems) process.stderr.write(`${problemLine(p, prefixOf(side))}\n`);
  }
  const invalid = sides.filter((s) => s.snapshot === undefined);
  if (invalid.length > 0) {
    if (options.format === 'markdown') process.stdout.write(problemsMarkdown(sides));
    const which = invalid.map((s) => (comparing ? `${s.role} (${s.label})` : s.label)).join(' and ');
    throw new UserError(`the manifests at ${which} are invalid; fix the errors above, then run ferry plan again`, ExitCode.notOk);
  }
  const snapshots = sides.map((s) => s.snapshot as Snapshot);
  const installed = installedFromInventory(inventories, snapshots);
  const fleets = snapshots.map((snapshot) => onlyHost(planFleet(snapshot, inventories, { now: options.now, installed }).plans, options.host));
  const head = fleets[fleets.length - 1] as FleetPlans;
  if (!comparing) {
    const plans = [...head.plans.values()];
    process.stdout.write(options.format === 'json' ? renderPlansJson(plans) : renderPlansText(plans));
    return ExitCode.ok;
  }
  const base = fleets[0] as FleetPlans;
  const diff = diffFleetPlans(base, head);
  const revisions = { base: (sides[0] as Side).revision, head: (sides[1] as Side).revision };
  const render = { text: renderDiffText, json: renderDiffJson, markdown: renderDiffMarkdown }[options.format];
  process.stdout.write(render(diff, revisions));
  return ExitCode.ok;
}

interface RawOptions {
  inventory: string;
  host?: string;
  base?: string;
  head?: string;
  format: Format;
  json?: boolean;
  now?: string;
}

/** Defines `ferry plan`'s arguments, options and action on `cmd`. */
export function configure(cmd: Command): void {
  cmd
    .description('Print the plan of every host, or with --base what a change to the manifests does to which hosts.')
    .argument('[dir]', 'manifest directory', '.')
    .requiredOption('--inventory <file>', 'JSON array of inventory documents ({host, facts, labels, software})')
    .option('--host <host>', 'only this host')
    .option('--base <rev>', 'git revision to compare with (e.g. origin/main): print what changes on which hosts')
    .option('--head <rev>', 'git revision to plan (default: the working tree)')
    .addOption(new Option('--format <format>', 'output format; markdown is the diff as a pull-request comment').choices(['text', 'markdown', 'json']).default('text'))
    .option('--json', 'same as --format json')
    .option('--now <time>', 'plan as of this RFC 3339 time instead of now (reproducible output)')
    .action(async (dir: string, raw: RawOptions) => {
      const format: Format = raw.json ? 'json' : raw.format;
      if (format === 'markdown' && raw.base === undefined) {
        throw new UserError('--format markdown is the pull-request preview and needs --base REV; use --format text or json for a plain plan');
      }
      const code = await runPlan({
        dir,
        inventory: raw.inventory,
        format,
        now: parseNow(raw.now),
        ...(raw.host === undefined ? {} : { host: raw.host }),
        ...(raw.base === undefined ? {} : { base: raw.base }),
        ...(raw.head === undefined ? {} : { head: raw.head }),
      });
      setExitCode(cmd, code);
    });
}
