/** JSON forms of plans and diffs, with a fixed key order so output is byte-stable. */
import type { HostPlan, PlanAction } from '../plan/types.js';
import { byText } from './diff-fleet.js';
import type { ActionSummary, FleetDiff } from './types.js';

/** `{id, deployment, package, version, op, status, blockedBy, reason}`: an action in `ferry plan --format json`. */
export function actionJson(a: PlanAction | ActionSummary): Record<string, unknown> {
  return {
    id: a.id,
    deployment: a.deployment,
    package: a.package,
    version: a.version,
    op: a.op,
    status: a.status,
    blockedBy: [...a.blockedBy],
    reason: a.reason ?? null,
  };
}

/** `{"plans": [{"host", "actions": [...]}]}`, hosts sorted, actions in plan order; ends with a newline. */
export function renderPlansJson(plans: readonly HostPlan[]): string {
  const sorted = [...plans].sort((a, b) => byText(a.host, b.host));
  const doc = { plans: sorted.map((p) => ({ host: p.host, actions: p.actions.map(actionJson) })) };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The diff as JSON: revisions, totals, per deployment, per site, per host; ends with a newline. */
export function renderDiffJson(diff: FleetDiff, revisions: { base: string; head: string }): string {
  const withSize = (a: ActionSummary): Record<string, unknown> => ({ ...actionJson(a), size: a.artifact.size });
  const doc = {
    base: revisions.base,
    head: revisions.head,
    hostCount: diff.hostCount,
    totals: { ...diff.totals },
    deployments: diff.deployments.map((d) => ({
      deployment: d.deployment,
      hosts: [...d.hosts],
      added: d.added,
      removed: d.removed,
      changed: d.changed,
      becameNotApplicable: d.becameNotApplicable,
      bytes: d.bytes,
    })),
    sites: diff.sites.map((s) => ({
      site: s.site.name,
      relay: s.site.relay ?? null,
      hostCount: s.hostCount,
      hosts: [...s.hosts],
      bytes: s.bytes,
      distinctBytes: s.distinctBytes,
    })),
    hosts: diff.hosts.map((h) => ({
      host: h.host,
      site: h.site.name,
      bytes: h.bytes,
      added: h.added.map(withSize),
      removed: h.removed.map(withSize),
      changed: h.changed.map((c) => ({
        id: c.after.id,
        before: withSize(c.before),
        after: withSize(c.after),
        changes: c.changes.map((f) => ({ field: f.field, before: f.before, after: f.after })),
      })),
      becameNotApplicable: h.becameNotApplicable.map((a) => a.id),
      sources: h.sources ? { before: h.sources.before, after: h.sources.after } : null,
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
