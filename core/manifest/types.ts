/**
 * The typed, normalised model of the manifest language (DESIGN §1).
 * Sizes are bytes and durations milliseconds here; the YAML forms are parsed once, at load.
 * Everything a loader returns is frozen: a Snapshot never changes after it is made.
 */

/** Where a resource or problem is in the manifest directory (1-based line and column). */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface Metadata {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface Resource<K extends string, S> {
  readonly apiVersion: 'ferry/v1';
  readonly kind: K;
  readonly metadata: Metadata;
  readonly spec: S;
  /** Position of the document's start, for messages about the whole resource. */
  readonly source: SourcePosition;
}

/** A program run as argv, never through a shell. */
export interface CommandSpec {
  readonly command: readonly string[];
  readonly timeoutMs: number;
  readonly env: Readonly<Record<string, string>>;
}

export interface ArtifactRef {
  readonly sha256: string;
  readonly size: number;
  /** Bytes of file content the archive unpacks to; extraction stops past it. Absent: not bounded. */
  readonly unpackedSize?: number;
  /** A path in the manifest repository or an http(s) URL; absent: already in the content store. */
  readonly source?: string;
  /** Publisher signatures over name, version, sha256 and size (core/signing/publisher.ts). */
  readonly signatures?: readonly { readonly key: string; readonly signature: string }[];
}

export interface PackageSpec {
  readonly version: string;
  readonly artifact: ArtifactRef;
  readonly install: CommandSpec;
  readonly uninstall?: CommandSpec;
  readonly detect?: CommandSpec;
  /** Package names installed first on the same host. */
  readonly requires: readonly string[];
  /** Condition names; all must hold. */
  readonly conditions: readonly string[];
  /** Schedule name. */
  readonly installWindow?: string;
}

export interface SoftwareRequirement {
  readonly name: string;
  /** A version range (npm syntax), compared by the reporting source's rules (core/versions); absent: any version. */
  readonly version?: string;
}

export interface ConditionSpec {
  readonly os?: readonly string[];
  readonly arch?: readonly string[];
  readonly minDiskFree?: number;
  readonly minMemory?: number;
  readonly minCpus?: number;
  readonly software?: {
    readonly present: readonly SoftwareRequirement[];
    readonly absent: readonly SoftwareRequirement[];
  };
  readonly check?: CommandSpec;
}

/** A fact selector value: a scalar, or a list meaning any of. */
export type FactMatch = string | number | boolean | readonly (string | number | boolean)[];

export interface GroupSpec {
  readonly hosts: readonly string[];
  readonly include: readonly string[];
  readonly selector?: {
    readonly labels: Readonly<Record<string, string>>;
    /** Dotted fact path (`os.platform`) → value or any-of list. */
    readonly facts: Readonly<Record<string, FactMatch>>;
  };
  readonly exclude: readonly string[];
}

export interface HostSpec {
  readonly labels: Readonly<Record<string, string>>;
  readonly mac?: string;
  /** Relay name. */
  readonly relay?: string;
}

export type ScheduleWindow =
  | { readonly cron: string; readonly durationMs: number }
  /** `start` as written: RFC 3339, without offset read in the schedule's zone. */
  | { readonly start: string; readonly durationMs: number };

export interface ScheduleSpec {
  /** An IANA zone name, or `host`: each host's reported zone. */
  readonly timezone: string;
  readonly windows: readonly ScheduleWindow[];
}

export interface DeploymentPackage {
  readonly name: string;
  readonly version: string;
  readonly state: 'present' | 'absent';
}

/** A rollout wave size or failure budget: "10%" or a host count. */
export type Quantity = { readonly percent: number } | { readonly count: number };

export interface DeploymentSpec {
  readonly packages: readonly DeploymentPackage[];
  readonly targets: { readonly groups: readonly string[]; readonly hosts: readonly string[] };
  readonly distribute: {
    readonly notBefore?: string;
    /** Schedule name. */
    readonly window?: string;
    readonly segmentSize?: number;
    readonly segmentPauseMs?: number;
    readonly multicast: boolean;
    readonly wake: boolean;
  };
  readonly install: {
    /** Schedule name; overrides each package's installWindow. */
    readonly window?: string;
    readonly shutdownAfter: boolean;
  };
  readonly rollout?: { readonly waves: readonly Quantity[]; readonly maxFailures?: Quantity };
  readonly onLeave: 'keep' | 'uninstall';
  readonly suspended: boolean;
}

export interface RelaySpec {
  readonly host: string;
  readonly url: string;
  readonly serves: { readonly groups: readonly string[]; readonly hosts: readonly string[] };
  /** Where the relay sends magic packets (`ADDR[:PORT]`); absent: its `--wake-broadcast`. */
  readonly wakeBroadcast?: string;
  /** The site's multicast session (docs/multicast.md); `rate` in bytes per second. */
  readonly multicast?: { readonly group: string; readonly port: number; readonly ttl?: number; readonly rate?: number };
}

/** One publisher key of a TrustPolicy. */
export interface TrustedKeySpec {
  readonly name?: string;
  /** SPKI PEM. */
  readonly publicKey: string;
  /** `SHA256:…`, computed at load. */
  readonly fingerprint: string;
  /** Exact names, `prefix*`, or `*`. */
  readonly packages: readonly string[];
  /** RFC 3339 with offset. */
  readonly expires?: string;
  /** Why it was revoked. */
  readonly revoked?: string;
}

export interface TrustPolicySpec {
  readonly publishers: readonly TrustedKeySpec[];
}

export type PackageResource = Resource<'Package', PackageSpec>;
export type ConditionResource = Resource<'Condition', ConditionSpec>;
export type GroupResource = Resource<'Group', GroupSpec>;
export type HostResource = Resource<'Host', HostSpec>;
export type ScheduleResource = Resource<'Schedule', ScheduleSpec>;
export type DeploymentResource = Resource<'Deployment', DeploymentSpec>;
export type RelayResource = Resource<'Relay', RelaySpec>;
export type TrustPolicyResource = Resource<'TrustPolicy', TrustPolicySpec>;
export type AnyResource = PackageResource | ConditionResource | GroupResource | HostResource | ScheduleResource | DeploymentResource | RelayResource | TrustPolicyResource;
export type Kind = AnyResource['kind'];

/**
 * The desired state at one revision: every resource, validated, by name.
 * Packages are keyed by name, then by version. Map iteration order is by name (sorted),
 * so anything derived from a Snapshot is independent of file and document order.
 */
export interface Snapshot {
  /** e.g. `main@sha1:3f2a…`, or `worktree` for files not read from git. */
  readonly revision: string;
  readonly packages: ReadonlyMap<string, ReadonlyMap<string, PackageResource>>;
  readonly conditions: ReadonlyMap<string, ConditionResource>;
  readonly groups: ReadonlyMap<string, GroupResource>;
  readonly hosts: ReadonlyMap<string, HostResource>;
  readonly schedules: ReadonlyMap<string, ScheduleResource>;
  readonly deployments: ReadonlyMap<string, DeploymentResource>;
  readonly relays: ReadonlyMap<string, RelayResource>;
  readonly trustPolicies: ReadonlyMap<string, TrustPolicyResource>;
}

/** One manifest file as read by the caller (core/ does no I/O). */
export interface ManifestFile {
  /** Path relative to the manifest directory, with `/` separators. */
  readonly path: string;
  /** Raw bytes (checked for UTF-8) or already-decoded text. */
  readonly content: Uint8Array | string;
  /**
   * The file's full size in bytes, when the reader did not read it whole (content then holds
   * only a prefix, or nothing): the loader reports the file as too large without parsing it.
   */
  readonly size?: number;
  /** Why the reader could not read the file (a broken link, no permission): reported at 1:1. */
  readonly unreadable?: string;
}

/** Bounds on hostile or runaway input; every one exceeded is reported as an error, never a crash. */
export interface LoadLimits {
  /** Largest file accepted, in bytes (default 1 MiB). */
  readonly maxFileBytes: number;
  /** Most YAML documents in one file, empty ones included (default 5,000). */
  readonly maxDocumentsPerFile: number;
  /** Most YAML documents in all files together (default 100,000). */
  readonly maxDocuments: number;
  /** Most alias expansions in one document, against "billion laughs" (default 100). */
  readonly maxAliasCount: number;
  /** Most bytes of all manifest files together (default 64 MiB); files past it are not read. */
  readonly maxTotalBytes: number;
}

/** What a load read, for summaries (`ok: 45 resources in 12 files`). */
export interface LoadStats {
  readonly files: number;
  /** Non-empty documents, valid or not. */
  readonly resources: number;
}

export type Severity = 'error' | 'warning';

export interface Problem extends SourcePosition {
  readonly severity: Severity;
  readonly message: string;
}

/** The result of loading: all problems, sorted by file, line, col; a snapshot only when no error. */
export interface LoadResult {
  readonly snapshot?: Snapshot;
  readonly problems: readonly Problem[];
  readonly stats?: LoadStats;
}
