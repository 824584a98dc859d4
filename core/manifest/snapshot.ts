/** Valid resources → the immutable Snapshot: maps sorted by name (package versions by semver), everything frozen. */
import semver from 'semver';
import type { Entry } from './check-context.js';
import type {
  AnyResource,
  ConditionResource,
  DeploymentResource,
  GroupResource,
  HostResource,
  PackageResource,
  RelayResource,
  ScheduleResource,
  Snapshot,
  TrustPolicyResource,
} from './types.js';

/** Builds the snapshot of a load that found no error. */
export function buildSnapshot(entries: readonly Entry[], revision: string): Snapshot {
  const byKind = new Map<AnyResource['kind'], AnyResource[]>();
  for (const { resource } of entries) {
    const list = byKind.get(resource.kind) ?? [];
    list.push(deepFreeze(resource));
    byKind.set(resource.kind, list);
  }
  const byName = <R extends AnyResource>(kind: R['kind']): ReadonlyMap<string, R> => {
    const list = (byKind.get(kind) ?? []) as R[];
    return new Map([...list].sort((a, b) => compare(a.metadata.name, b.metadata.name)).map((r) => [r.metadata.name, r]));
  };
  const packages = new Map<string, Map<string, PackageResource>>();
  const sortedPackages = [...((byKind.get('Package') ?? []) as PackageResource[])].sort(
    (a, b) => compare(a.metadata.name, b.metadata.name) || compareVersions(a.spec.version, b.spec.version),
  );
  for (const p of sortedPackages) {
    let versions = packages.get(p.metadata.name);
    if (versions === undefined) packages.set(p.metadata.name, (versions = new Map()));
    versions.set(p.spec.version, p);
  }
  return Object.freeze({
    revision,
    packages,
    conditions: byName<ConditionResource>('Condition'),
    groups: byName<GroupResource>('Group'),
    hosts: byName<HostResource>('Host'),
    schedules: byName<ScheduleResource>('Schedule'),
    deployments: byName<DeploymentResource>('Deployment'),
    relays: byName<RelayResource>('Relay'),
    trustPolicies: byName<TrustPolicyResource>('TrustPolicy'),
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semver order where both are semver, otherwise plain string order (semver ones first). */
function compareVersions(a: string, b: string): number {
  const va = semver.valid(a);
  const vb = semver.valid(b);
  if (va !== null && vb !== null) return semver.compare(va, vb) || compare(a, b);
  if (va !== null) return -1;
  if (vb !== null) return 1;
  return compare(a, b);
}

/** Freezes a value and everything reachable from it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
    } else {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) deepFreeze(record[key]);
    }
  }
  return value;
}
