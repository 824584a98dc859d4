/**
 * What every host's action for one deployment package shares, computed once per planning run:
 * the package definition, commands, transfer options and windows (per time zone, for
 * `timezone: host` schedules). Hosts then only add status, reason, blockedBy and conditions.
 */
import type { ConditionResource, DeploymentResource, PackageResource, ScheduleResource, Snapshot } from '../manifest/types.js';
import type { ArtifactChunks, ConditionResult, PlanAction, TimeWindow } from '../plan/types.js';
import { expandSchedule } from '../schedules/index.js';
import { snapshotPublishers } from '../manifest/check-trust.js';
import { artifactStatement, checkPublisher, coversPackage, type DeclaredPublisher, type TrustedPublisher } from '../signing/publisher.js';

/** Days of windows a plan carries. */
export const WINDOW_DAYS = 7;

export type Distribute = PlanAction['distribute'];

export interface ActionTemplate {
  readonly id: string;
  readonly deployment: string;
  readonly package: string;
  readonly version: string;
  readonly op: 'install' | 'uninstall';
  /** Undefined when the snapshot has no such package version. */
  readonly definition?: PackageResource;
  readonly conditions: readonly ConditionResource[];
  /** Condition names the snapshot does not define. */
  readonly missingConditions: readonly string[];
  readonly requires: readonly string[];
  /** Why no new install may start: the publisher's key is revoked or expired (checked at the planning day's start). */
  readonly publisherBlock?: string;
  /** Whether fixed() depends on the zone (a `timezone: host` schedule). */
  readonly zoneMatters: boolean;
  /** The action fields every host shares, for the host's time zone. */
  fixed(zone: string | undefined): FixedFields;
}

export type FixedFields = Pick<
  PlanAction,
  'id' | 'deployment' | 'package' | 'version' | 'op' | 'artifact' | 'publishers' | 'install' | 'uninstall' | 'detect' | 'distribute' | 'installWindows' | 'shutdownAfter'
>;

/** Window expansion shared by every template of one planning run (from the UTC day start). */
export class WindowCache {
  private readonly cache = new Map<string, readonly TimeWindow[]>();
  constructor(readonly from: string) {}

  /** The schedule's windows for a host zone; hosts share the array when the zone does not matter. */
  windows(schedule: ScheduleResource, hostZone: string | undefined): readonly TimeWindow[] {
    const zoneKey = schedule.spec.timezone === 'host' ? (hostZone ?? '') : '';
    const key = `${schedule.metadata.name}\0${zoneKey}`;
    let w = this.cache.get(key);
    if (w === undefined) {
      w = Object.freeze(expandSchedule(schedule, hostZone, this.from, WINDOW_DAYS).map((x) => Object.freeze(x)));
      this.cache.set(key, w);
    }
    return w;
  }
}

const EMPTY_ARTIFACT = Object.freeze({ sha256: '', size: 0 });

/** A template for one deployment package (or an onLeave uninstall, whose deployment may be gone). */
export function makeTemplate(
  snapshot: Snapshot,
  windows: WindowCache,
  deploymentName: string,
  dep: DeploymentResource | undefined,
  pkgName: string,
  version: string,
  op: 'install' | 'uninstall',
  chunks?: ReadonlyMap<string, ArtifactChunks>,
): ActionTemplate {
  const definition = snapshot.packages.get(pkgName)?.get(version);
  const conditionNames = op === 'install' ? (definition?.spec.conditions ?? []) : [];
  const conditions: ConditionResource[] = [];
  const missingConditions: string[] = [];
  for (const c of conditionNames) {
    const cond = snapshot.conditions.get(c);
    if (cond === undefined) missingConditions.push(c);
    else conditions.push(cond);
  }
  const scheduleOf = (name: string | undefined) => (name === undefined ? undefined : snapshot.schedules.get(name));
  const distributeSchedule = scheduleOf(dep?.spec.distribute.window);
  // The install window is when a host may change: it gates uninstalls (state: absent, onLeave) as well.
  const installSchedule = scheduleOf(dep?.spec.install.window ?? definition?.spec.installWindow);
  const zoneMatters = distributeSchedule?.spec.timezone === 'host' || installSchedule?.spec.timezone === 'host';
  const byZone = new Map<string, FixedFields>();
  const id = `${deploymentName}/${pkgName}@${version}/${op}`;
  const publishers = op === 'install' ? declaredPublishers(snapshot, pkgName) : [];
  const publisherBlock = op === 'install' && definition !== undefined && publishers.length > 0 ? blockOf(snapshot, definition, windows.from) : undefined;

  const build = (zone: string | undefined): FixedFields => {
    const d = dep?.spec.distribute;
    const distribute: Distribute = Object.freeze({
      ...(d?.notBefore === undefined ? {} : { notBefore: d.notBefore }),
      ...(distributeSchedule === undefined ? {} : { windows: windows.windows(distributeSchedule, zone) }),
      ...(d?.segmentSize === undefined ? {} : { segmentSize: d.segmentSize }),
      ...(d?.segmentPauseMs === undefined ? {} : { segmentPauseMs: d.segmentPauseMs }),
      multicast: d?.multicast ?? false,
      wake: d?.wake ?? false,
    });
    const spec = definition?.spec;
    return Object.freeze({
      id,
      deployment: deploymentName,
      package: pkgName,
      version,
      op,
      artifact: spec === undefined ? EMPTY_ARTIFACT : planArtifact(spec.artifact, op === 'install' && distribute.multicast ? chunks?.get(spec.artifact.sha256) : undefined),
      ...(op === 'install' && publishers.length > 0 ? { publishers } : {}),
      ...(op === 'install' && spec !== undefined ? { install: spec.install } : {}),
      ...(op === 'uninstall' && spec?.uninstall !== undefined ? { uninstall: spec.uninstall } : {}),
      ...(spec?.detect === undefined ? {} : { detect: spec.detect }),
      distribute,
      ...(installSchedule === undefined ? {} : { installWindows: windows.windows(installSchedule, zone) }),
      shutdownAfter: dep?.spec.install.shutdownAfter ?? false,
    });
  };
  return {
    id,
    deployment: deploymentName,
    package: pkgName,
    version,
    op,
    ...(definition === undefined ? {} : { definition }),
    conditions,
    missingConditions,
    requires: op === 'install' ? (definition?.spec.requires ?? []) : [],
    ...(publisherBlock === undefined ? {} : { publisherBlock }),
    zoneMatters,
    fixed(zone) {
      const key = zoneMatters ? (zone ?? '') : '';
      let f = byZone.get(key);
      if (f === undefined) {
        f = build(zone);
        byZone.set(key, f);
      }
      return f;
    },
  };
}

/**
 * The plan's artifact: digest and size, the publisher signatures (and unpacked size) when the
 * Package has them, and the per-chunk hashes when given (multicast installs).
 */
function planArtifact(a: PackageResource['spec']['artifact'] & { readonly unpackedSize?: number }, chunks: ArtifactChunks | undefined): PlanAction['artifact'] {
  if (a.signatures === undefined && a.unpackedSize === undefined && chunks === undefined) return Object.freeze({ sha256: a.sha256, size: a.size });
  return Object.freeze({
    sha256: a.sha256,
    size: a.size,
    ...(a.unpackedSize !== undefined ? { unpackedSize: a.unpackedSize } : {}),
    ...(chunks !== undefined ? { chunks: Object.freeze({ size: chunks.size, sha256: Object.freeze([...chunks.sha256]) }) } : {}),
    ...(a.signatures !== undefined ? { signatures: a.signatures } : {}),
  });
}

const trustCache = new WeakMap<Snapshot, readonly TrustedPublisher[]>();

/** The publisher check's refusal for a package version at `now`, undefined when it may be installed. */
function blockOf(snapshot: Snapshot, definition: PackageResource, now: string): string | undefined {
  let trusted = trustCache.get(snapshot);
  if (trusted === undefined) trustCache.set(snapshot, (trusted = snapshotPublishers(snapshot)));
  const { metadata, spec } = definition;
  const verdict = checkPublisher(artifactStatement(metadata.name, spec.version, spec.artifact), spec.artifact.signatures ?? [], trusted, now);
  return verdict.ok ? undefined : `publisher: ${verdict.reason}`;
}

/** The TrustPolicy keys covering a package name, as a plan declares them (fingerprints, no key material). */
function declaredPublishers(snapshot: Snapshot, pkgName: string): readonly DeclaredPublisher[] {
  const out: DeclaredPublisher[] = [];
  for (const policy of snapshot.trustPolicies.values()) {
    for (const p of policy.spec.publishers) {
      if (!coversPackage(p.packages, pkgName)) continue;
      out.push(
        Object.freeze({
          key: p.fingerprint,
          packages: p.packages,
          ...(p.expires !== undefined ? { expires: p.expires } : {}),
          ...(p.revoked !== undefined ? { revoked: p.revoked } : {}),
        }),
      );
    }
  }
  return Object.freeze(out);
}

/** Templates of a deployment's packages, in the order it lists them. */
export function deploymentTemplates(snapshot: Snapshot, windows: WindowCache, dep: DeploymentResource, chunks?: ReadonlyMap<string, ArtifactChunks>): readonly ActionTemplate[] {
  return dep.spec.packages.map((p) => makeTemplate(snapshot, windows, dep.metadata.name, dep, p.name, p.version, p.state === 'present' ? 'install' : 'uninstall', chunks));
}

/** The condition results shared by hosts where all of a template's conditions hold. */
export type ConditionResults = readonly ConditionResult[];
