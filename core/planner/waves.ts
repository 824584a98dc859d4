/**
 * Rollout (DESIGN §1 rollout, §2): hosts ordered by sha256(host + '\0' + deployment), waves as
 * cumulative percentages or counts (ceil, at least one host), a wave starts once every host of
 * the previous one finished or failed, and more failures than maxFailures suspend the deployment.
 */
import { hash } from 'node:crypto';
import type { DeploymentResource, Quantity } from '../manifest/types.js';
import type { DeploymentOutcome, RolloutProgress } from './types.js';

/** A deployment's outcome plus each host's wave, for planning its hosts. */
export interface Rollout {
  readonly outcome: DeploymentOutcome;
  /** 1-based wave of each targeted host; empty when there is one wave (every host is in wave 1). */
  readonly waveOf: ReadonlyMap<string, number>;
}

/** The digest as a binary string: it sorts like its hex form (byte order) at half the size. */
const sha = (text: string) => hash('sha256', text, 'binary');

/** Targeted hosts in rollout order for one deployment. */
export function rolloutOrder(hosts: Iterable<string>, deployment: string): readonly string[] {
  return [...hosts]
    .map((h) => ({ h, k: sha(`${h}\0${deployment}`) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.h < b.h ? -1 : 1))
    .map((x) => x.h);
}

/** Cumulative wave ends for n hosts; empty waves (same end as the previous) are dropped, the last reaches n. */
export function waveEnds(n: number, waves: readonly Quantity[]): readonly number[] {
  if (n === 0) return [];
  const ends: number[] = [];
  for (const q of waves) {
    const raw = 'percent' in q ? Math.ceil((q.percent * n) / 100) : q.count;
    const end = Math.min(n, Math.max(1, raw, ends[ends.length - 1] ?? 0));
    if (end !== ends[ends.length - 1]) ends.push(end);
  }
  if (ends[ends.length - 1] !== n) ends.push(n);
  return ends;
}

/** Host → its 1-based wave, for hosts in rollout order and cumulative wave ends; empty with one wave. */
function wavesOf(hosts: readonly string[], ends: readonly number[]): ReadonlyMap<string, number> {
  const waveOf = new Map<string, number>();
  if (ends.length <= 1) return waveOf;
  for (let i = 0, wave = 1; i < hosts.length; i++) {
    while (i >= ends[wave - 1]!) wave++;
    waveOf.set(hosts[i]!, wave);
  }
  return waveOf;
}

const describe = (q: Quantity) => ('percent' in q ? `${q.percent}%` : String(q.count));

/** Rollout state of one deployment from its targets and progress. Suspension by spec or operator is passed in. */
export function planRollout(
  dep: DeploymentResource,
  targets: ReadonlySet<string>,
  progress: RolloutProgress | undefined,
  operatorSuspended: boolean,
  /** The order of `targets` when the caller knows it (the previous one, or one patched from it). */
  previousOrder?: readonly string[],
  operatorResumed = false,
  /** A rollout of this deployment: its waves are reused when its order is `previousOrder` and its wave ends the same. */
  previous?: Rollout,
): Rollout {
  const name = dep.metadata.name;
  const rollout = dep.spec.rollout;
  const hosts = previousOrder ?? (rollout === undefined ? [...targets].sort() : rolloutOrder(targets, name));
  const ends = rollout === undefined ? (hosts.length === 0 ? [] : [hosts.length]) : waveEnds(hosts.length, rollout.waves);
  const same = previous !== undefined && previous.outcome.hosts === hosts && previous.outcome.waveEnds.join() === ends.join();
  const waveOf = same ? previous.waveOf : wavesOf(hosts, ends);
  // The first wave with a host neither finished nor failed.
  let current = 0;
  for (let i = 0, wave = 1; i < hosts.length; i++) {
    while (i >= ends[wave - 1]!) wave++;
    const host = hosts[i]!;
    if (!(progress?.finished.has(host) || progress?.failed.has(host))) {
      current = wave;
      break;
    }
  }
  if (current === 0) current = ends.length;

  let selfSuspended: string | undefined;
  const budget = rollout?.maxFailures;
  if (budget !== undefined && progress !== undefined) {
    let failed = 0;
    for (const h of progress.failed) if (targets.has(h)) failed++;
    const limit = 'percent' in budget ? (budget.percent * hosts.length) / 100 : budget.count;
    if (failed > limit) selfSuspended = `${failed} of ${hosts.length} hosts failed, more than maxFailures ${describe(budget)}`;
  }
  const suspended = operatorResumed ? false : dep.spec.suspended ? 'spec' : operatorSuspended ? 'operator' : selfSuspended !== undefined ? 'self' : false;
  const outcome: DeploymentOutcome = {
    name,
    hosts,
    waveEnds: ends,
    currentWave: current,
    waves: ends.length,
    ...(selfSuspended === undefined ? {} : { selfSuspended }),
    suspended,
  };
  return { outcome, waveOf };
}
