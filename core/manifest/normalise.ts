/**
 * A schema-valid document → its typed resource: sizes in bytes, durations in milliseconds,
 * defaults filled. What the schema cannot see (overflow, zero timeouts) is reported through `report`.
 */
import type {
  AnyResource,
  CommandSpec,
  ConditionSpec,
  DeploymentSpec,
  FactMatch,
  GroupSpec,
  HostSpec,
  Kind,
  Metadata,
  PackageSpec,
  Quantity,
  RelaySpec,
  ScheduleSpec,
  ScheduleWindow,
  SoftwareRequirement,
  SourcePosition,
  TrustPolicySpec,
} from './types.js';
import { keyFingerprint } from '../signing/fingerprint.js';
import { formatPath } from './json-path.js';
import { parseDuration } from '../units/duration.js';
import { parseQuantity, parseSize } from './units.js';
import type { JsonPath } from './yaml-documents.js';

/** Receives a problem at a path of the document being normalised. */
export type Report = (path: JsonPath, message: string) => void;

/** Default time limits of programs, in milliseconds. */
export const defaultTimeouts = { install: 30 * 60_000, uninstall: 30 * 60_000, detect: 60_000, check: 60_000 } as const;

type Raw = Record<string, unknown>;

const EMPTY: readonly never[] = [];

/** The typed resource of a schema-valid document; undefined when `report` was called. */
export function normalise(kind: Kind, doc: Raw, source: SourcePosition, report: Report): AnyResource | undefined {
  let failed = false;
  const r: Report = (path, message) => {
    failed = true;
    report(path, message);
  };
  const n = new Normaliser(r);
  const metadata = n.metadata(doc['metadata'] as Raw);
  const spec = (doc['spec'] ?? {}) as Raw;
  const resource = { apiVersion: 'ferry/v1' as const, kind, metadata, spec: n.spec(kind, spec), source } as AnyResource;
  return failed ? undefined : resource;
}

class Normaliser {
  constructor(private readonly report: Report) {}

  metadata(m: Raw): Metadata {
    return { name: m['name'] as string, labels: strings(m['labels']), annotations: strings(m['annotations']) };
  }

  /** The normaliser of each kind's spec. */
  private readonly specs: Record<Kind, (s: Raw) => unknown> = {
    Package: (s) => this.package(s),
    Condition: (s) => this.condition(s),
    Group: group,
    Host: host,
    Schedule: (s) => this.schedule(s),
    Deployment: (s) => this.deployment(s),
    Relay: relay,
    TrustPolicy: (s) => this.trustPolicy(s),
  };

  spec(kind: Kind, s: Raw): unknown {
    return this.specs[kind](s);
  }

  private package(s: Raw): PackageSpec {
    const a = s['artifact'] as Raw;
    const spec: { -readonly [K in keyof PackageSpec]: PackageSpec[K] } = {
      version: s['version'] as string,
      artifact: {
        sha256: a['sha256'] as string,
        size: this.size(['spec', 'artifact', 'size'], a['size']) ?? 0,
        ...(a['unpackedSize'] !== undefined ? { unpackedSize: this.size(['spec', 'artifact', 'unpackedSize'], a['unpackedSize']) ?? 0 } : {}),
        ...(a['source'] !== undefined ? { source: a['source'] as string } : {}),
        ...(a['signatures'] !== undefined ? { signatures: (a['signatures'] as Raw[]).map((x) => ({ key: x['key'] as string, signature: x['signature'] as string })) } : {}),
      },
      install: this.command(['spec', 'install'], s['install'] as Raw, defaultTimeouts.install),
      requires: names(s['requires']),
      conditions: names(s['conditions']),
    };
    if (s['uninstall'] !== undefined) spec.uninstall = this.command(['spec', 'uninstall'], s['uninstall'] as Raw, defaultTimeouts.uninstall);
    if (s['detect'] !== undefined) spec.detect = this.command(['spec', 'detect'], s['detect'] as Raw, defaultTimeouts.detect);
    if (s['installWindow'] !== undefined) spec.installWindow = s['installWindow'] as string;
    return spec;
  }

  private trustPolicy(s: Raw): TrustPolicySpec {
    const publishers = (s['publishers'] as Raw[]).map((p, i) => {
      const publicKey = p['publicKey'] as string;
      let fingerprint = '';
      try {
        fingerprint = keyFingerprint(publicKey);
      } catch {
        this.report(['spec', 'publishers', i, 'publicKey'], 'publicKey is not a PEM public key; paste PREFIX.pub as `ferry key generate` wrote it');
      }
      return {
        ...(p['name'] !== undefined ? { name: p['name'] as string } : {}),
        publicKey,
        fingerprint,
        packages: [...(p['packages'] as string[])],
        ...(p['expires'] !== undefined ? { expires: p['expires'] as string } : {}),
        ...(p['revoked'] !== undefined ? { revoked: p['revoked'] as string } : {}),
      };
    });
    return { publishers };
  }

  private condition(s: Raw): ConditionSpec {
    const spec: { -readonly [K in keyof ConditionSpec]: ConditionSpec[K] } = {};
    if (s['os'] !== undefined) spec.os = [...(s['os'] as string[])];
    if (s['arch'] !== undefined) spec.arch = [...(s['arch'] as string[])];
    if (s['minDiskFree'] !== undefined) spec.minDiskFree = this.size(['spec', 'minDiskFree'], s['minDiskFree']);
    if (s['minMemory'] !== undefined) spec.minMemory = this.size(['spec', 'minMemory'], s['minMemory']);
    if (s['minCpus'] !== undefined) spec.minCpus = s['minCpus'] as number;
    if (s['software'] !== undefined) {
      const sw = s['software'] as Raw;
      spec.software = { present: requirements(sw['present']), absent: requirements(sw['absent']) };
    }
    if (s['check'] !== undefined) spec.check = this.command(['spec', 'check'], s['check'] as Raw, defaultTimeouts.check);
    return spec;
  }

  private schedule(s: Raw): ScheduleSpec {
    const windows = (s['windows'] as Raw[]).map((w, i): ScheduleWindow => {
      const durationMs = this.duration(['spec', 'windows', i, 'duration'], w['duration'], true) ?? 0;
      return w['cron'] !== undefined ? { cron: w['cron'] as string, durationMs } : { start: w['start'] as string, durationMs };
    });
    return { timezone: s['timezone'] as string, windows };
  }

  private deployment(s: Raw): DeploymentSpec {
    const targets = s['targets'] as Raw;
    const d = (s['distribute'] ?? {}) as Raw;
    const inst = (s['install'] ?? {}) as Raw;
    const distribute: { -readonly [K in keyof DeploymentSpec['distribute']]: DeploymentSpec['distribute'][K] } = {
      multicast: d['multicast'] === true,
      wake: d['wake'] === true,
    };
    if (d['notBefore'] !== undefined) distribute.notBefore = d['notBefore'] as string;
    if (d['window'] !== undefined) distribute.window = d['window'] as string;
    if (d['segmentSize'] !== undefined) {
      const size = this.size(['spec', 'distribute', 'segmentSize'], d['segmentSize']);
      if (size === 0) this.report(['spec', 'distribute', 'segmentSize'], 'spec.distribute.segmentSize: must be more than 0 bytes');
      if (size !== undefined) distribute.segmentSize = size;
    }
    if (d['segmentPause'] !== undefined) {
      const pause = this.duration(['spec', 'distribute', 'segmentPause'], d['segmentPause'], false);
      if (pause !== undefined) distribute.segmentPauseMs = pause;
    }
    const spec: { -readonly [K in keyof DeploymentSpec]: DeploymentSpec[K] } = {
      packages: (s['packages'] as Raw[]).map((p) => ({
        name: p['name'] as string,
        version: p['version'] as string,
        state: (p['state'] as 'present' | 'absent' | undefined) ?? 'present',
      })),
      targets: { groups: names(targets['groups']), hosts: names(targets['hosts']) },
      distribute,
      install: { ...(inst['window'] !== undefined ? { window: inst['window'] as string } : {}), shutdownAfter: inst['shutdownAfter'] === true },
      onLeave: (s['onLeave'] as 'keep' | 'uninstall' | undefined) ?? 'keep',
      suspended: s['suspended'] === true,
    };
    if (s['rollout'] !== undefined) {
      const r = s['rollout'] as Raw;
      const waves = (r['waves'] as (number | string)[]).map((w, i) => this.quantity(['spec', 'rollout', 'waves', i], w));
      const maxFailures = r['maxFailures'] === undefined ? undefined : this.quantity(['spec', 'rollout', 'maxFailures'], r['maxFailures'] as number | string);
      spec.rollout = { waves, ...(maxFailures !== undefined ? { maxFailures } : {}) };
    }
    return spec;
  }

  private command(path: JsonPath, c: Raw, defaultTimeoutMs: number): CommandSpec {
    const timeout = c['timeout'] === undefined ? defaultTimeoutMs : this.duration([...path, 'timeout'], c['timeout'], true);
    return { command: [...(c['command'] as string[])], timeoutMs: timeout ?? defaultTimeoutMs, env: strings(c['env']) };
  }

  private size(path: JsonPath, value: unknown): number | undefined {
    const bytes = parseSize(value as number | string);
    if (bytes === undefined) this.report(path, `${formatPath(path)}: ${JSON.stringify(value)} is too large a size`);
    return bytes;
  }

  private duration(path: JsonPath, value: unknown, positive: boolean): number | undefined {
    const ms = parseDuration(value as string);
    if (ms === undefined) this.report(path, `${formatPath(path)}: ${JSON.stringify(value)} is too long a duration`);
    else if (positive && ms === 0) this.report(path, `${formatPath(path)}: must be longer than 0 (use e.g. 30s or 10m)`);
    return ms;
  }

  private quantity(path: JsonPath, value: number | string): Quantity {
    const q = parseQuantity(value);
    if (q === undefined) this.report(path, `${formatPath(path)}: ${JSON.stringify(value)} is too large`);
    return q ?? { count: 0 };
  }
}

function group(s: Raw): GroupSpec {
  const spec: { -readonly [K in keyof GroupSpec]: GroupSpec[K] } = { hosts: names(s['hosts']), include: names(s['include']), exclude: names(s['exclude']) };
  if (s['selector'] !== undefined) {
    const sel = s['selector'] as Raw;
    const facts: Record<string, FactMatch> = {};
    for (const [k, v] of sortedEntries(sel['facts'])) facts[k] = Array.isArray(v) ? [...(v as (string | number | boolean)[])] : (v as FactMatch);
    spec.selector = { labels: strings(sel['labels']), facts };
  }
  return { hosts: spec.hosts, include: spec.include, ...(spec.selector !== undefined ? { selector: spec.selector } : {}), exclude: spec.exclude };
}

function host(s: Raw): HostSpec {
  return {
    labels: strings(s['labels']),
    ...(s['mac'] !== undefined ? { mac: s['mac'] as string } : {}),
    ...(s['relay'] !== undefined ? { relay: s['relay'] as string } : {}),
  };
}

function relay(s: Raw): RelaySpec {
  const serves = (s['serves'] ?? {}) as Raw;
  const m = s['multicast'] as Raw | undefined;
  const multicast = m && {
    group: m['group'] as string,
    port: m['port'] as number,
    ...(m['ttl'] !== undefined ? { ttl: m['ttl'] as number } : {}),
    ...(m['rate'] !== undefined ? { rate: parseSize(m['rate'] as number | string)! } : {}),
  };
  return {
    host: s['host'] as string,
    url: s['url'] as string,
    serves: { groups: names(serves['groups']), hosts: names(serves['hosts']) },
    ...(multicast ? { multicast } : {}),
    ...(s['wakeBroadcast'] !== undefined ? { wakeBroadcast: s['wakeBroadcast'] as string } : {}),
  };
}

function names(value: unknown): readonly string[] {
  return value === undefined ? EMPTY : [...(value as string[])];
}

function requirements(value: unknown): readonly SoftwareRequirement[] {
  if (value === undefined) return EMPTY;
  return (value as Raw[]).map((r) => (r['version'] !== undefined ? { name: r['name'] as string, version: r['version'] as string } : { name: r['name'] as string }));
}

/** A string map with keys sorted, so equal manifests give equal (and equally printed) resources. */
function strings(value: unknown): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [k, v] of sortedEntries(value)) out[k] = v as string;
  return out;
}

function sortedEntries(value: unknown): [string, unknown][] {
  if (value === undefined || value === null) return [];
  return Object.entries(value as Raw).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
