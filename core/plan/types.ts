/**
 * Inventory (what a host reports) and plans (what a host is told), DESIGN §2, §4, §5.
 * Times are RFC 3339 strings in UTC; sizes are bytes; durations milliseconds.
 */
import type { CommandSpec, ConditionSpec } from '../manifest/types.js';
import type { KeyTransition } from '../signing/key-transition.js';
import type { DeclaredPublisher, PublisherSignature } from '../signing/publisher.js';

export interface SoftwareItem {
  readonly name: string;
  readonly version: string;
  /** `ferry` (installed by Ferry), `dpkg`, `rpm`, … */
  readonly source: string;
}

export interface DiskFacts {
  readonly free: number;
  readonly total: number;
}

/** Facts an agent reports. Selector fact paths (`os.platform`) are dotted paths into this object. */
export interface Facts {
  readonly hostname?: string;
  readonly os?: { readonly platform?: string; readonly release?: string; readonly distribution?: string };
  readonly arch?: string;
  readonly cpus?: number;
  readonly memory?: { readonly total?: number };
  readonly disk?: { readonly installRoot?: DiskFacts; readonly data?: DiskFacts };
  readonly network?: readonly { readonly name: string; readonly mac?: string; readonly ipv4?: string }[];
  /** IANA time zone of the host, used by `timezone: host` schedules. */
  readonly timezone?: string;
  /** `pollIntervalMs`: the agent's `--interval`, so the controller knows when a host has gone quiet (automatic wake). */
  readonly agent?: { readonly version?: string; readonly pollIntervalMs?: number };
  readonly [extra: string]: unknown;
}

/** The latest inventory document of one host. */
export interface Inventory {
  readonly host: string;
  readonly facts: Facts;
  readonly labels: Readonly<Record<string, string>>;
  readonly software: readonly SoftwareItem[];
}

/** A UTC interval, end exclusive. */
export interface TimeWindow {
  readonly start: string;
  readonly end: string;
}

/** Status the planner gives an action (the agent then reports its own action states). */
export type PlannedStatus = 'planned' | 'not-applicable' | 'blocked' | 'waiting' | 'unknown';

export type ConditionVerdict = 'holds' | 'fails' | 'unknown';

export interface ConditionResult {
  readonly name: string;
  readonly verdict: ConditionVerdict;
  /** Plain-language reason when it fails or cannot be decided here. */
  readonly reason?: string;
  /** The condition itself, so the agent re-checks it right before installing. */
  readonly spec: ConditionSpec;
}

/** The sha256 of each `size`-byte chunk of an artifact, in order (the last chunk may be short). */
export interface ArtifactChunks {
  readonly size: number;
  readonly sha256: readonly string[];
}

export interface PlanAction {
  /** Stable across plans: `DEPLOYMENT/PACKAGE@VERSION/OP`. */
  readonly id: string;
  readonly deployment: string;
  readonly package: string;
  readonly version: string;
  readonly op: 'install' | 'uninstall';
  readonly status: PlannedStatus;
  readonly reason?: string;
  /** Action ids that must finish first. */
  readonly blockedBy: readonly string[];
  readonly artifact: {
    readonly sha256: string;
    readonly size: number;
    /** Bytes of file content it unpacks to, when the Package declares it (extraction stops past it). */
    readonly unpackedSize?: number;
    /** sha256 of each `size`-byte chunk, when the controller has them: a multicast receiver drops a chunk that fails at once. */
    readonly chunks?: ArtifactChunks;
    /** The publishers' signatures from the Package manifest (core/signing/publisher.ts). */
    readonly signatures?: readonly PublisherSignature[];
  };
  /** The TrustPolicy entries covering this package at the plan's revision: an agent narrows its pinned keys by them. */
  readonly publishers?: readonly DeclaredPublisher[];
  readonly install?: CommandSpec;
  readonly uninstall?: CommandSpec;
  readonly detect?: CommandSpec;
  readonly conditions: readonly ConditionResult[];
  readonly distribute: {
    readonly notBefore?: string;
    /** Absent: any time. */
    readonly windows?: readonly TimeWindow[];
    readonly segmentSize?: number;
    readonly segmentPauseMs?: number;
    readonly multicast: boolean;
    readonly wake: boolean;
  };
  /** Installation windows; absent: right after download. */
  readonly installWindows?: readonly TimeWindow[];
  readonly shutdownAfter: boolean;
  readonly suspended: boolean;
}

/** Where content is fetched from, in order: the host's relay first, then the controller. */
export interface ContentSource {
  readonly kind: 'relay' | 'controller';
  readonly name: string;
  /** Base URL; content is at `${url}/v1/content/${sha256}`. Absent for the controller: the agent's --server. */
  readonly url?: string;
  /**
   * The source's multicast session (docs/multicast.md): a `distribute.multicast` action's
   * artifact is sent to this group in blocks once hosts join at `URL/v1/multicast/{sha256}/join`.
   */
  readonly multicast?: MulticastAnnouncement;
}

/** Where and how a source multicasts: the session of an action is this, its artifact, and its distribution's opening. */
export interface MulticastAnnouncement {
  readonly group: string;
  readonly port: number;
  /** Hops (default 1). */
  readonly ttl?: number;
  /** Bytes per second the sender puts on the wire. */
  readonly rate?: number;
  /** Artifact bytes per datagram. */
  readonly blockSize: number;
}

/** What the pure planner decides for one host: everything of a plan but its envelope. */
export interface HostPlan {
  readonly host: string;
  readonly sources: readonly ContentSource[];
  readonly actions: readonly PlanAction[];
}

/** The plan an agent receives (DESIGN §5); `signature` covers the JCS form without it. */
export interface Plan extends HostPlan {
  readonly serial: number;
  readonly revision: string;
  readonly generatedAt: string;
  readonly expiresAt: string;
  /** During a controller key rotation: the next key and the current key's vouch for it. */
  readonly keyTransition?: KeyTransition;
  readonly signature?: string;
  /** During a controller key rotation: the next key's signature (over the same bytes as `signature`). */
  readonly nextSignature?: string;
}

/** Action states reported by agents (DESIGN §2); their order: `./action-states.ts`. */
export type { ActionState } from './action-states.js';
import type { ActionState } from './action-states.js';

/** What an agent verified before an install: the plan's revision, the artifact's digest, the publisher key whose signature held. */
export interface Custody {
  readonly revision: string;
  readonly sha256: string;
  /** Fingerprint of the publisher key the host's pinned trust accepted; absent: the host pins no publisher key for this package. */
  readonly publisher?: string;
}

/** One result an agent reports; `id` makes reports idempotent. */
export interface ActionReport {
  readonly id: string;
  readonly actionId: string;
  readonly serial: number;
  readonly state: ActionState;
  readonly at: string;
  readonly bytesDone?: number;
  readonly exitCode?: number;
  /** The last 4 KiB of the program's output. */
  readonly output?: string;
  readonly reason?: string;
  /** With `installed`: what the host verified before it installed — its chain of custody (`ferry audit`). */
  readonly custody?: Custody;
  /** Where the report came from when not the agent's own post (`from a bundle, applied at …`); set by the controller at import. */
  readonly source?: string;
}
