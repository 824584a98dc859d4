/** Plain-language forms of action properties, shared by the diff and its renderers. */
import type { CommandSpec } from '../manifest/types.js';
import { formatBytes } from '../units/bytes.js';
import { formatDuration } from '../units/duration.js';
import type { ConditionResult, ContentSource, PlanAction, TimeWindow } from '../plan/types.js';

/** A window list in words: `any time`, `no window ahead`, or the first window and how many follow. */
export function describeWindows(windows: readonly TimeWindow[] | undefined): string {
  if (windows === undefined) return 'any time';
  const first = windows[0];
  if (first === undefined) return 'no window ahead';
  const more = windows.length > 1 ? ` (+${windows.length - 1} more)` : '';
  return `${first.start} – ${first.end}${more}`;
}

/** `relay osaka, controller`: content sources in order. */
export function describeSources(sources: readonly ContentSource[]): string {
  return sources.length === 0 ? 'none' : sources.map((s) => (s.kind === 'relay' ? `relay ${s.name}` : 'controller')).join(', ');
}

/** `enough-disk fails, has-python holds`. */
export function describeConditions(conditions: readonly ConditionResult[]): string {
  return conditions.length === 0 ? 'none' : conditions.map((c) => `${c.name} ${c.verdict}`).join(', ');
}

/** Segment size, pause, multicast and wake of a transfer. */
export function describeTransfer(distribute: PlanAction['distribute']): string {
  const parts = [
    distribute.segmentSize === undefined ? 'whole file' : `segments of ${formatBytes(distribute.segmentSize)}`,
    ...(distribute.segmentPauseMs === undefined ? [] : [`pause ${formatDuration(distribute.segmentPauseMs)}`]),
    distribute.multicast ? 'multicast' : 'unicast',
    ...(distribute.wake ? ['wake-on-LAN'] : []),
  ];
  return parts.join(', ');
}

/** `sh install.sh (timeout 10m)`, or `none`. */
export function describeCommand(spec: CommandSpec | undefined): string {
  if (spec === undefined) return 'none';
  const env = Object.keys(spec.env).sort();
  const envText = env.length === 0 ? '' : `, env ${env.join(' ')}`;
  return `${spec.command.join(' ')} (timeout ${formatDuration(spec.timeoutMs)}${envText})`;
}

/** The artifact as `sha256:0123456789ab (1.0 MiB)`. */
export function describeArtifact(artifact: PlanAction['artifact']): string {
  const signed = artifact.signatures?.length ? `, signed by ${artifact.signatures.map((s) => s.key).join(', ')}` : '';
  return `sha256:${artifact.sha256.slice(0, 12)} (${formatBytes(artifact.size)}${signed})`;
}

/** The TrustPolicy keys an action declares: who may sign it, and their expiry or revocation. */
export function describePublishers(publishers: PlanAction['publishers']): string {
  if (!publishers?.length) return 'none';
  return publishers.map((p) => `${p.key}${p.revoked !== undefined ? ` (revoked: ${p.revoked})` : p.expires !== undefined ? ` (expires ${p.expires})` : ''}`).join(', ');
}
