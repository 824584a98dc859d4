/**
 * The plan of one host (DESIGN §2): one action per package of each deployment targeting it, plus
 * onLeave uninstalls, each with its status and a plain reason for anything not simply planned.
 * Precedence of statuses: blocked (no package definition, conflict) → not-applicable (a condition
 * fails, nothing to uninstall) → blocked (a requirement is missing or cannot run) → waiting
 * (rollout wave) → unknown (only the agent can decide) → planned.
 */
import { evaluateCondition, reportsInstalled, reportsName } from '../conditions/index.js';
import type { ConditionResource, Snapshot } from '../manifest/types.js';
import type { ConditionResult, ContentSource, HostPlan, Inventory, PlanAction, PlannedStatus } from '../plan/types.js';
import type { HostLayout } from './host-layout.js';
import { hostKey, installedHere } from './host-key.js';
import { PlanSharing } from './plan-sharing.js';
import type { ActionTemplate, FixedFields } from './templates.js';
import type { InstalledRecord } from './types.js';
import type { Rollout } from './waves.js';

/** Everything one host's plan depends on. */
export interface HostInputs {
  readonly snapshot: Snapshot;
  readonly inventory?: Inventory;
  /** Deployments targeting the host, sorted by name. */
  readonly deployments: readonly string[];
  readonly rollouts: ReadonlyMap<string, Rollout>;
  readonly templates: (deployment: string) => readonly ActionTemplate[];
  readonly leaveTemplate: (deployment: string, pkg: string, version: string) => ActionTemplate;
  /** This host's installed records. */
  readonly installed: readonly InstalledRecord[];
  readonly sources: readonly ContentSource[];
  /**
   * Caches shared by the hosts of one planning run (same snapshot, templates, rollouts and
   * unavailable content); a fresh one when absent. Hosts whose host-key.ts key is equal get the
   * same frozen action list; content never depends on it.
   */
  readonly sharing?: PlanSharing;
  /** Artifacts (sha256 → reason) whose content is missing or wrong: installs of them are blocked. */
  readonly unavailable?: ReadonlyMap<string, string>;
}

/**
 * What an action's `conditions` follow from: `none` evaluated (uninstalls, onLeave), `all-hold`
 * (the template's shared holding results), or `results:` the interned result keys when one fails.
 */
export type ConditionsKey = 'none' | 'all-hold' | `results:${string}`;

/** An action being decided. */
export interface Draft {
  readonly template: ActionTemplate;
  status: PlannedStatus;
  reason?: string;
  conditions: readonly ConditionResult[];
  /** Determines `conditions` given the template (part of the action's sharing key). */
  conditionsKey: ConditionsKey;
  blockedBy: readonly string[];
  readonly suspended: boolean;
}

const NO_CONDITIONS: readonly ConditionResult[] = Object.freeze([]);
const NO_IDS: readonly string[] = Object.freeze([]);
const NO_DRAFTS: readonly Draft[] = Object.freeze([]);
const allHold = new WeakMap<ActionTemplate, readonly ConditionResult[]>();

type Interned = { readonly value: ConditionResult; readonly key: number };
type Evaluate = (c: ConditionResource) => Interned;

/** The plan of one host; deterministic in its inputs. */
export function planHost(host: string, inputs: HostInputs): HostPlan {
  const sharing = inputs.sharing ?? new PlanSharing();
  const inv = inputs.inventory;
  const zone = inv?.facts.timezone;
  const base = sharing.layoutOf(inputs.deployments, () => {
    const templates: ActionTemplate[] = [];
    for (const name of inputs.deployments) templates.push(...inputs.templates(name));
    return { templates, deploymentCount: templates.length };
  });
  const leaves = inputs.installed.length === 0 ? NO_DRAFTS : leaveActions(host, inputs, base.packages);
  const layout =
    leaves.length === 0
      ? base
      : sharing.layout(
          `${inputs.deployments.join('\0')}\u0001${leaves.map((draft) => `${draft.template.deployment}\0${draft.template.package}\0${draft.template.version}`).join('\u0001')}`,
          () => ({
            templates: [...base.templates, ...leaves.map((draft) => draft.template)],
            deploymentCount: base.templates.length,
          }),
        );

  const results = layout.conditions.map((c) => sharing.result(c, evaluateCondition(c, inv)));
  const waits = inputs.deployments.map((name) => {
    const rollout = inputs.rollouts.get(name)!;
    if (rollout.outcome.waves <= 1) return 0;
    const wave = rollout.waveOf.get(host) ?? 1;
    return wave > rollout.outcome.currentWave ? wave : 0;
  });
  const key = hostKey(
    layout,
    inv,
    zone,
    inputs.installed,
    waits,
    results.map((r) => r.key),
  );
  let actions = sharing.knownActions(key);
  if (actions === undefined) {
    actions = decide(inputs, layout, leaves, waits, (c) => results[layout.conditions.indexOf(c)]!, sharing);
    sharing.rememberActions(key, actions);
  }
  return { host, sources: inputs.sources, actions };
}

/** The actions of a host from its layout and what its key holds (see host-key.ts). */
function decide(inputs: HostInputs, layout: HostLayout, leaves: readonly Draft[], waits: readonly number[], evaluate: Evaluate, sharing: PlanSharing): readonly PlanAction[] {
  const inv = inputs.inventory;
  const drafts: Draft[] = [];
  for (let j = 0; j < inputs.deployments.length; j++) {
    const depName = inputs.deployments[j]!;
    const rollout = inputs.rollouts.get(depName)!;
    const suspended = rollout.outcome.suspended !== false;
    const wait = waits[j]!;
    const count = inputs.templates(depName).length;
    for (let k = 0; k < count; k++) {
      const template = layout.templates[drafts.length]!;
      const draft: Draft = { template, status: 'planned', conditions: NO_CONDITIONS, conditionsKey: 'none', blockedBy: NO_IDS, suspended };
      const byFerry = installedHere(inputs.installed, template.package, template.version);
      if (template.definition === undefined) block(draft, `package ${template.package} ${template.version} is not defined in the manifests`);
      else if (template.op === 'uninstall') decideUninstall(draft, inv, byFerry);
      else decideInstall(draft, inv, evaluate, sharing, byFerry);
      const missing =
        template.op === 'install' && draft.status !== 'blocked' && draft.status !== 'not-applicable'
          ? inputs.unavailable?.get(template.definition!.spec.artifact.sha256)
          : undefined;
      if (missing !== undefined) block(draft, `content unavailable: ${missing}`);
      if (template.publisherBlock !== undefined && template.op === 'install' && !byFerry) block(draft, template.publisherBlock);
      if (wait > 0 && draft.status !== 'blocked' && draft.status !== 'not-applicable') set(draft, 'waiting', sharing.waiting(rollout, wait));
      drafts.push(draft);
    }
  }
  for (const c of layout.conflicts) for (const i of c.indices) block(drafts[i]!, c.reason);
  drafts.push(...leaves);

  applyRequirements(drafts, layout, inv);
  return toActions(drafts, layout, inv?.facts.timezone, sharing);
}

function set(draft: Draft, status: PlannedStatus, reason: string | undefined): void {
  draft.status = status;
  if (reason === undefined) delete draft.reason;
  else draft.reason = reason;
}

function block(draft: Draft, reason: string): void {
  set(draft, 'blocked', reason);
}

/** Planned when Ferry or the inventory says it is installed; otherwise the agent decides if it can (no inventory yet, or `detect`). */
function decideUninstall(draft: Draft, inv: Inventory | undefined, byFerry: boolean): void {
  const { package: pkg, version } = draft.template;
  if (draft.template.definition?.spec.uninstall === undefined) return block(draft, `${pkg} ${version} has no uninstall command`);
  if (byFerry || (inv !== undefined && reportsInstalled(inv, pkg, version))) return;
  if (inv === undefined) return set(draft, 'unknown', `no inventory reported yet; the agent checks whether ${pkg} ${version} is installed`);
  // detect finds installs made outside Ferry, which the inventory's software list may not show.
  if (draft.template.definition.spec.detect !== undefined) return set(draft, 'unknown', 'not reported installed; the agent runs detect to decide');
  set(draft, 'not-applicable', `${pkg} ${version} is not installed on this host`);
}

function decideInstall(draft: Draft, inv: Inventory | undefined, evaluate: Evaluate, sharing: PlanSharing, byFerry: boolean): void {
  const template = draft.template;
  const conditions = template.conditions;
  let keys = '';
  let results: ConditionResult[] | undefined;
  for (let i = 0; i < conditions.length; i++) {
    const r = evaluate(conditions[i]!);
    if (results === undefined && r.value.verdict !== 'holds') results = [];
    keys += `${r.key},`;
  }
  if (results === undefined) {
    draft.conditions = allHoldOf(template, evaluate);
    draft.conditionsKey = 'all-hold';
  } else {
    for (const c of conditions) results.push(evaluate(c).value);
    draft.conditions = results;
    draft.conditionsKey = `results:${keys}`;
  }
  if (template.missingConditions.length > 0) {
    return block(draft, `condition ${template.missingConditions.join(', ')} is not defined in the manifests`);
  }
  if (results !== undefined) {
    const verdict = sharing.verdict(keys, results);
    if (verdict.status !== undefined) return set(draft, verdict.status, verdict.reason);
  }
  if (byFerry && inv !== undefined && !reportsInstalled(inv, template.package, template.version)) set(draft, 'planned', 'drift: reported missing, reinstalling');
}

/** The shared results of a template whose conditions all hold (holding results are shared objects). */
function allHoldOf(template: ActionTemplate, evaluate: Evaluate): readonly ConditionResult[] {
  let shared = allHold.get(template);
  if (shared === undefined) {
    shared = Object.freeze(template.conditions.map((c) => evaluate(c).value));
    allHold.set(template, shared);
  }
  return shared;
}

/**
 * onLeave: uninstall for what Ferry installed here for a deployment that no longer asks for it on
 * this host (left its targets, dropped the package, or was deleted). A package another targeting
 * deployment asks for (`wanted`) is left to that deployment.
 */
function leaveActions(host: string, inputs: HostInputs, wanted: ReadonlySet<string>): readonly Draft[] {
  const drafts: Draft[] = [];
  const seen = new Set<string>();
  const records = [...inputs.installed].sort((a, b) => cmp(a.deployment, b.deployment) || cmp(a.package, b.package) || cmp(a.version, b.version));
  for (const rec of records) {
    if (rec.host !== host || wanted.has(rec.package)) continue;
    const dep = inputs.snapshot.deployments.get(rec.deployment);
    const targeting = dep !== undefined && inputs.deployments.includes(rec.deployment);
    if (targeting && dep.spec.packages.some((listed) => listed.name === rec.package)) continue;
    const onLeave = dep === undefined ? (rec.onLeave ?? 'keep') : dep.spec.onLeave;
    if (onLeave !== 'uninstall') continue;
    const template = inputs.leaveTemplate(rec.deployment, rec.package, rec.version);
    if (seen.has(template.id)) continue;
    seen.add(template.id);
    const why =
      dep === undefined
        ? `deployment ${rec.deployment} was deleted and said onLeave: uninstall`
        : targeting
          ? `deployment ${rec.deployment} no longer lists ${rec.package} and says onLeave: uninstall`
          : `host left the targets of deployment ${rec.deployment}, which says onLeave: uninstall`;
    const suspended = dep !== undefined && (inputs.rollouts.get(rec.deployment)?.outcome.suspended ?? (dep.spec.suspended ? 'spec' : false)) !== false;
    const draft: Draft = { template, status: 'planned', reason: why, conditions: NO_CONDITIONS, conditionsKey: 'none', blockedBy: NO_IDS, suspended };
    if (template.definition === undefined) block(draft, `cannot uninstall ${rec.package} ${rec.version}: its Package definition is no longer in the manifests (${why})`);
    else if (template.definition.spec.uninstall === undefined) block(draft, `cannot uninstall ${rec.package} ${rec.version}: it has no uninstall command (${why})`);
    drafts.push(draft);
  }
  return drafts;
}

/** Fills blockedBy and blocks actions whose requirements are missing or cannot run (in plan order, so blocks cascade). */
function applyRequirements(drafts: readonly Draft[], layout: HostLayout, inv: Inventory | undefined): void {
  for (let i = 0; i < drafts.length; i++) {
    const draft = drafts[i]!;
    if (draft.template.requires.length === 0) continue;
    draft.blockedBy = layout.blockedBy[i]!;
    const unprovided = layout.unprovided[i]!;
    if (unprovided.length === 0 || draft.status === 'blocked' || draft.status === 'not-applicable') continue;
    const missing = inv === undefined ? unprovided : unprovided.filter((name) => !reportsName(inv, name));
    if (missing.length > 0) block(draft, `requires ${missing.join(', ')}, which no deployment installs on this host`);
  }
  for (const i of layout.order) {
    const draft = drafts[i]!;
    if (draft.status === 'blocked' || draft.status === 'not-applicable') continue;
    const pre = layout.pre[i]!;
    for (let k = 0; k < pre.length; k++) {
      const prerequisite = drafts[pre[k]!]!;
      if (prerequisite.status === 'blocked' || prerequisite.status === 'not-applicable') {
        block(draft, `requires ${prerequisite.template.package}, whose action ${draft.blockedBy[k]!} is ${prerequisite.status}`);
        break;
      }
    }
  }
}

/** The plan's actions in layout order, each the run's shared object for its content. */
function toActions(drafts: readonly Draft[], layout: HostLayout, zone: string | undefined, sharing: PlanSharing): readonly PlanAction[] {
  const actions: PlanAction[] = [];
  const keys: number[] = [];
  for (const i of layout.order) {
    const draft = drafts[i]!;
    const key = `${draft.status}:${draft.suspended ? 1 : 0}:${layout.blockedKey[i]!}:${sharing.reasonKey(draft.reason)}:${draft.conditionsKey}`;
    const a = sharing.action(draft.template.fixed(zone), key, draft, toAction);
    actions.push(a.value);
    keys.push(a.key);
  }
  return sharing.list(keys.join(','), actions);
}

function toAction(fixed: FixedFields, draft: Draft): PlanAction {
  return {
    id: fixed.id,
    deployment: fixed.deployment,
    package: fixed.package,
    version: fixed.version,
    op: fixed.op,
    status: draft.status,
    ...(draft.reason === undefined ? {} : { reason: draft.reason }),
    blockedBy: draft.blockedBy,
    artifact: fixed.artifact,
    ...(fixed.publishers === undefined ? {} : { publishers: fixed.publishers }),
    ...(fixed.install === undefined ? {} : { install: fixed.install }),
    ...(fixed.uninstall === undefined ? {} : { uninstall: fixed.uninstall }),
    ...(fixed.detect === undefined ? {} : { detect: fixed.detect }),
    conditions: draft.conditionsKey === 'none' || draft.conditionsKey === 'all-hold' ? draft.conditions : Object.freeze(draft.conditions),
    distribute: fixed.distribute,
    ...(fixed.installWindows === undefined ? {} : { installWindows: fixed.installWindows }),
    shutdownAfter: fixed.shutdownAfter,
    suspended: draft.suspended,
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
