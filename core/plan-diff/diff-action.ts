/** What differs between two versions of one action, property by property, in words. */
import type { PlanAction, PlannedStatus } from '../plan/types.js';
import { describeArtifact, describeCommand, describePublishers, describeConditions, describeTransfer, describeWindows } from './describe.js';
import { sameValue } from './same-value.js';
import type { ActionSummary, FieldChange } from './types.js';

/** The diff's view of an action: the `ferry plan --format json` fields plus the artifact. */
export function summarise(action: PlanAction): ActionSummary {
  return {
    id: action.id,
    deployment: action.deployment,
    package: action.package,
    version: action.version,
    op: action.op,
    status: action.status,
    blockedBy: [...action.blockedBy],
    ...(action.reason === undefined ? {} : { reason: action.reason }),
    artifact: { sha256: action.artifact.sha256, size: action.artifact.size },
  };
}

const none = 'none';
const yesNo = (v: boolean): string => (v ? 'yes' : 'no');

/** Every property that differs between `before` and `after`, in a fixed order; empty when they are the same. */
export function diffAction(before: PlanAction, after: PlanAction): FieldChange[] {
  const changes: FieldChange[] = [];
  const add = (field: FieldChange['field'], b: string, a: string): void => {
    changes.push({ field, before: b, after: a === b ? `${a} (details differ)` : a });
  };
  if (before.version !== after.version) add('version', before.version, after.version);
  else if (!sameValue(before.artifact, after.artifact)) add('artifact', describeArtifact(before.artifact), describeArtifact(after.artifact));
  if (before.status !== after.status) add('status', before.status, after.status);
  if ((before.reason ?? '') !== (after.reason ?? '')) add('reason', before.reason ?? none, after.reason ?? none);
  if (!sameValue(before.blockedBy, after.blockedBy)) {
    add('blockedBy', before.blockedBy.join(', ') || none, after.blockedBy.join(', ') || none);
  }
  const verdicts = (a: PlanAction): unknown => a.conditions.map((c) => [c.name, c.verdict]);
  if (!sameValue(verdicts(before), verdicts(after))) {
    add('conditions', describeConditions(before.conditions), describeConditions(after.conditions));
  }
  if (before.distribute.notBefore !== after.distribute.notBefore) {
    add('notBefore', before.distribute.notBefore ?? none, after.distribute.notBefore ?? none);
  }
  if (!sameValue(before.distribute.windows, after.distribute.windows)) {
    add('distributeWindows', describeWindows(before.distribute.windows), describeWindows(after.distribute.windows));
  }
  if (!sameValue(before.installWindows, after.installWindows)) {
    add('installWindows', describeWindows(before.installWindows), describeWindows(after.installWindows));
  }
  const transfer = (a: PlanAction): unknown => ({ ...a.distribute, notBefore: undefined, windows: undefined });
  if (!sameValue(transfer(before), transfer(after))) {
    add('transfer', describeTransfer(before.distribute), describeTransfer(after.distribute));
  }
  const commandChanges = (['install', 'uninstall', 'detect'] as const).filter((k) => !sameValue(before[k], after[k]));
  if (commandChanges.length > 0) {
    const text = (a: PlanAction): string => commandChanges.map((k) => `${k}: ${describeCommand(a[k])}`).join('; ');
    add('commands', text(before), text(after));
  }
  if (before.shutdownAfter !== after.shutdownAfter) add('shutdownAfter', yesNo(before.shutdownAfter), yesNo(after.shutdownAfter));
  if (before.suspended !== after.suspended) add('suspended', yesNo(before.suspended), yesNo(after.suspended));
  if (!sameValue(before.publishers, after.publishers)) add('publishers', describePublishers(before.publishers), describePublishers(after.publishers));
  return changes;
}

const transferable: ReadonlySet<PlannedStatus> = new Set(['planned', 'waiting', 'unknown']);

/**
 * Bytes this action makes the host download: the artifact of an install that may go ahead
 * (planned, waiting or unknown) unless the base plan already had the same artifact going ahead.
 */
export function transferBytes(before: PlanAction | undefined, after: PlanAction): number {
  if (after.op !== 'install' || !transferable.has(after.status)) return 0;
  const alreadyGoing = before !== undefined && before.op === 'install' && transferable.has(before.status) && before.artifact.sha256 === after.artifact.sha256;
  return alreadyGoing ? 0 : after.artifact.size;
}
