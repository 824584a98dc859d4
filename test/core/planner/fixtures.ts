/** A small builder of Snapshots and inventories for planner tests (the YAML loader is not needed here). */
import type { ConditionSpec, DeploymentSpec, GroupSpec, HostSpec, PackageSpec, RelaySpec, Resource, ScheduleSpec, Snapshot } from '../../../core/manifest/types.js';
import type { Inventory, SoftwareItem } from '../../../core/plan/types.js';

type Partial2<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> | T[K] : T[K] };

function res<K extends string, S>(kind: K, name: string, spec: S): Resource<K, S> {
  return { apiVersion: 'ferry/v1', kind, metadata: { name, labels: {}, annotations: {} }, spec, source: { file: 'test.yaml', line: 1, col: 1 } };
}

export const sha = (c: string) => c.repeat(64).slice(0, 64);

export function pkg(name: string, version: string, spec: Partial<PackageSpec> = {}) {
  return res('Package', name, {
    version,
    artifact: { sha256: sha(name[0]!), size: 1024 },
    install: { command: ['sh', 'install.sh'], timeoutMs: 600_000, env: {} },
    uninstall: { command: ['sh', 'uninstall.sh'], timeoutMs: 300_000, env: {} },
    requires: [],
    conditions: [],
    ...spec,
  } satisfies PackageSpec);
}
export const condition = (name: string, spec: ConditionSpec) => res('Condition', name, spec);
export const group = (name: string, spec: Partial<GroupSpec>) => res('Group', name, { hosts: [], include: [], exclude: [], ...spec } satisfies GroupSpec);
export const hostRes = (name: string, spec: Partial<HostSpec>) => res('Host', name, { labels: {}, ...spec } satisfies HostSpec);
export const schedule = (name: string, spec: ScheduleSpec) => res('Schedule', name, spec);
export const relay = (name: string, spec: RelaySpec) => res('Relay', name, spec);
export function deployment(name: string, spec: Partial2<DeploymentSpec> & Pick<DeploymentSpec, 'packages'>) {
  return res('Deployment', name, {
    targets: { groups: [], hosts: [], ...spec.targets },
    distribute: { multicast: false, wake: false, ...spec.distribute },
    install: { shutdownAfter: false, ...spec.install },
    onLeave: 'keep',
    suspended: false,
    ...(spec.rollout === undefined ? {} : { rollout: spec.rollout as DeploymentSpec['rollout'] }),
    ...(spec.onLeave === undefined ? {} : { onLeave: spec.onLeave }),
    ...(spec.suspended === undefined ? {} : { suspended: spec.suspended }),
    packages: spec.packages,
  } satisfies DeploymentSpec);
}

type AnyRes = ReturnType<typeof pkg | typeof condition | typeof group | typeof hostRes | typeof schedule | typeof relay | typeof deployment>;

/** A Snapshot of the given resources, maps filled in the given order (tests shuffle it). */
export function snapshot(resources: readonly AnyRes[], revision = 'test'): Snapshot {
  const packages = new Map<string, Map<string, ReturnType<typeof pkg>>>();
  const s = {
    revision,
    packages,
    conditions: new Map(),
    groups: new Map(),
    hosts: new Map(),
    schedules: new Map(),
    deployments: new Map(),
    relays: new Map(),
    trustPolicies: new Map(),
  };
  const byKind: Record<string, Map<string, AnyRes>> = {
    Condition: s.conditions,
    Group: s.groups,
    Host: s.hosts,
    Schedule: s.schedules,
    Deployment: s.deployments,
    Relay: s.relays,
  };
  for (const r of resources) {
    if (r.kind === 'Package') {
      const v = packages.get(r.metadata.name) ?? new Map();
      v.set(r.spec.version, r);
      packages.set(r.metadata.name, v);
    } else {
      byKind[r.kind]?.set(r.metadata.name, r);
    }
  }
  return s as Snapshot;
}

export const GiB = 1024 ** 3;

/** A Linux x64 host with 8 GiB memory, 4 cpus and 10 GiB free unless overridden. */
export function inventory(host: string, over: { facts?: Record<string, unknown>; labels?: Record<string, string>; software?: SoftwareItem[] } = {}): Inventory {
  return {
    host,
    facts: { os: { platform: 'linux' }, arch: 'x64', cpus: 4, memory: { total: 8 * GiB }, disk: { installRoot: { free: 10 * GiB, total: 100 * GiB } }, ...over.facts },
    labels: over.labels ?? {},
    software: over.software ?? [],
  };
}

/** Deterministic permutation for shuffle tests. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
