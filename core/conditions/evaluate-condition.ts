/**
 * Pre-evaluation of a Condition against a host's last inventory (DESIGN §2). Hardware and
 * software checks are decided here; `check` programs, missing facts and missing inventories are
 * `unknown` — the agent re-checks everything right before installing, so the spec travels along.
 */
import type { ConditionResource, SoftwareRequirement } from '../manifest/types.js';
import type { ConditionResult, Inventory, SoftwareItem } from '../plan/types.js';
import { formatBytes } from '../units/bytes.js';
import { compileRange, satisfiesFrom, type VersionRange } from '../versions/index.js';
import { softwareNamed } from './software-index.js';

interface Compiled {
  readonly holds: ConditionResult;
  readonly ranges: ReadonlyMap<string, VersionRange | undefined>;
  /** Range text → source and reported version → whether it satisfies the range (hosts report few distinct versions). */
  readonly tests: Map<string, Map<string, boolean>>;
}
const compiledConditions = new WeakMap<ConditionResource, Compiled>();

function compile(cond: ConditionResource): Compiled {
  let c = compiledConditions.get(cond);
  if (c === undefined) {
    const ranges = new Map<string, VersionRange | undefined>();
    const software = cond.spec.software;
    for (const req of [...(software?.present ?? []), ...(software?.absent ?? [])]) {
      if (req.version !== undefined && !ranges.has(req.version)) ranges.set(req.version, compileRange(req.version));
    }
    c = { holds: Object.freeze({ name: cond.metadata.name, verdict: 'holds', spec: cond.spec }), ranges, tests: new Map() };
    compiledConditions.set(cond, c);
  }
  return c;
}

const list = (xs: readonly string[]) => xs.join(', ');

/** The verdict of one condition for one host; `holds` results are shared, frozen objects. */
export function evaluateCondition(cond: ConditionResource, inv: Inventory | undefined): ConditionResult {
  const compiled = compile(cond);
  const spec = cond.spec;
  const name = cond.metadata.name;
  if (inv === undefined) return { name, verdict: 'unknown', reason: 'no inventory reported yet', spec };
  const fails: string[] = [];
  const unknowns: string[] = [];
  const facts = inv.facts;

  if (spec.os !== undefined) {
    const platform = facts.os?.platform;
    if (platform === undefined) unknowns.push('os.platform not reported');
    else if (!spec.os.includes(platform)) fails.push(`os ${platform} is not one of ${list(spec.os)}`);
  }
  if (spec.arch !== undefined) {
    if (facts.arch === undefined) unknowns.push('arch not reported');
    else if (!spec.arch.includes(facts.arch)) fails.push(`arch ${facts.arch} is not one of ${list(spec.arch)}`);
  }
  if (spec.minDiskFree !== undefined) {
    const free = facts.disk?.installRoot?.free;
    if (free === undefined) unknowns.push('disk free not reported');
    else if (free < spec.minDiskFree) fails.push(`disk free ${formatBytes(free, 'down')} < ${formatBytes(spec.minDiskFree)}`);
  }
  if (spec.minMemory !== undefined) {
    const total = facts.memory?.total;
    if (total === undefined) unknowns.push('memory not reported');
    else if (total < spec.minMemory) fails.push(`memory ${formatBytes(total, 'down')} < ${formatBytes(spec.minMemory)}`);
  }
  if (spec.minCpus !== undefined) {
    if (facts.cpus === undefined) unknowns.push('cpus not reported');
    else if (facts.cpus < spec.minCpus) fails.push(`cpus ${facts.cpus} < ${spec.minCpus}`);
  }
  for (const req of spec.software?.present ?? []) {
    const problem = presentProblem(req, inv, compiled);
    if (problem !== undefined) fails.push(problem);
  }
  for (const req of spec.software?.absent ?? []) {
    const found = matching(req, inv, compiled);
    if (found.length > 0) fails.push(`${req.name} ${found[0]} is installed`);
  }
  if (spec.check !== undefined) unknowns.push(`check ${list(spec.check.command)} runs on the host`);

  if (fails.length > 0) return { name, verdict: 'fails', reason: fails.join('; '), spec };
  if (unknowns.length > 0) return { name, verdict: 'unknown', reason: unknowns.join('; '), spec };
  return compiled.holds;
}

/** Whether a reported item is in the requirement's range, by its source's rules (dpkg, rpm, semver). */
function satisfies(item: SoftwareItem, req: SoftwareRequirement, compiled: Compiled): boolean {
  if (req.version === undefined) return true;
  let tested = compiled.tests.get(req.version);
  if (tested === undefined) compiled.tests.set(req.version, (tested = new Map()));
  const key = `${item.source}\0${item.version}`;
  let ok = tested.get(key);
  if (ok === undefined) {
    const range = compiled.ranges.get(req.version);
    ok = range !== undefined && satisfiesFrom(item.source, item.version, range);
    if (tested.size > 10_000) tested.clear();
    tested.set(key, ok);
  }
  return ok;
}

function matching(req: SoftwareRequirement, inv: Inventory, compiled: Compiled): readonly string[] {
  return softwareNamed(inv, req.name)
    .filter((s) => satisfies(s, req, compiled))
    .map((s) => s.version)
    .sort();
}

function presentProblem(req: SoftwareRequirement, inv: Inventory, compiled: Compiled): string | undefined {
  const items = softwareNamed(inv, req.name);
  if (items.length === 0) return `${req.name} is not installed`;
  if (items.some((s) => satisfies(s, req, compiled))) return undefined;
  if (req.version !== undefined && compiled.ranges.get(req.version) === undefined) return `${req.name} version range ${req.version} is not a valid range`;
  const versions = items.map((s) => s.version).sort();
  return `${req.name} ${list(versions)} does not satisfy ${req.version}`;
}
