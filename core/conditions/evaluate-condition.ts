/**
 * Pre-evaluation of a Condition against a host's last inventory (DESIGN §2). Hardware and
 * software checks are decided here; `check` programs, missing facts and missing inventories are
 * `unknown` — the agent re-checks everything right before installing, so the spec travels along.
 */
import semver from 'semver';
import type { ConditionResource, SoftwareRequirement } from '../manifest/types.js';
import type { ConditionResult, Inventory } from '../plan/types.js';
import { formatBytes } from '../units/bytes.js';
import { asSemver, softwareNamed } from './software-index.js';

interface Compiled {
  readonly holds: ConditionResult;
  readonly ranges: ReadonlyMap<string, semver.Range | null>;
  /** Range text → reported version → whether it satisfies the range (hosts report few distinct versions). */
  readonly tests: Map<string, Map<string, boolean>>;
}
const compiledConditions = new WeakMap<ConditionResource, Compiled>();

function compile(cond: ConditionResource): Compiled {
  let c = compiledConditions.get(cond);
  if (c === undefined) {
    const ranges = new Map<string, semver.Range | null>();
    const software = cond.spec.software;
    for (const req of [...(software?.present ?? []), ...(software?.absent ?? [])]) {
      if (req.version === undefined || ranges.has(req.version)) continue;
      let range: semver.Range | null = null;
      try {
        range = new semver.Range(req.version, { loose: true });
      } catch {
        range = null;
      }
      ranges.set(req.version, range);
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

function satisfies(version: string, req: SoftwareRequirement, compiled: Compiled): boolean {
  if (req.version === undefined) return true;
  let tested = compiled.tests.get(req.version);
  if (tested === undefined) compiled.tests.set(req.version, (tested = new Map()));
  let ok = tested.get(version);
  if (ok === undefined) {
    const range = compiled.ranges.get(req.version);
    const v = asSemver(version);
    ok = range != null && v !== null && range.test(v);
    if (tested.size > 10_000) tested.clear();
    tested.set(version, ok);
  }
  return ok;
}

function matching(req: SoftwareRequirement, inv: Inventory, compiled: Compiled): readonly string[] {
  return softwareNamed(inv, req.name)
    .filter((s) => satisfies(s.version, req, compiled))
    .map((s) => s.version)
    .sort();
}

function presentProblem(req: SoftwareRequirement, inv: Inventory, compiled: Compiled): string | undefined {
  const items = softwareNamed(inv, req.name);
  if (items.length === 0) return `${req.name} is not installed`;
  if (items.some((s) => satisfies(s.version, req, compiled))) return undefined;
  if (req.version !== undefined && compiled.ranges.get(req.version) == null) return `${req.name} version range ${req.version} is not a valid range`;
  const versions = items.map((s) => s.version).sort();
  return `${req.name} ${list(versions)} does not satisfy ${req.version}`;
}
