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

/** An action being decided. */
export interface Draft {
  readonly t: ActionTemplate;
  status: PlannedStatus;
  reason?: string;
  conditions: readonly ConditionResult[];
  /** Determines `conditions` given the template: 'n' none, 'h' all hold, else result keys. */
  condKey: string;
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
      : sharing.layout(`${inputs.deployments.join('\0')}\u0001${leaves.map((d) => `${d.t.deployment}\0${d.t.package}\0${d.t.version}`).join('\u0001')}`, () => ({
          templates: [...base.templates, ...leaves.map((d) => d.t)],
          deploymentCount: base.templates.length,
        }));

  const results = layout.conditions.map((c) => sharing.result(c, evaluateCondition(c, inv)));
  const waits = inputs.deployments.map((name) => {
    const rollout = inputs.rollouts.get(name)!;
    if (rollout.outcome.waves <= 1) return 0;
    const wave = rollout.waveOf.get(host) ?? 1;
    return wave > rollout.outcome.currentWave ? wave : 0;
  });
  const key = hostKey(layout, inv, zone, inputs.installed, waits, results.map((r) => r.key));
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
      const t = layout.templates[drafts.length]!;
      const d: Draft = { t, status: 'planned', conditions: NO_CONDITIONS, condKey: 'n', blockedBy: NO_IDS, suspended };
      const byFerry = installedHere(inputs.installed, t.package, t.version);
      if (t.definition === undefined) block(d, `package ${t.package} ${t.version} is not defined in the manifests`);
      else if (t.op === 'uninstall') decideUninstall(d, inv, byFerry);
      else decideInstall(d, inv, evaluate, sharing, byFerry);
      const missing = t.op === 'install' && d.status !== 'blocked' && d.status !== 'not-applicable' ? inputs.unavailable?.get(t.definition!.spec.artifact.sha256) : undefined;
      if (missing !== undefined) block(d, `content unavailable: ${missing}`);
      if (wait > 0 && d.status !== 'blocked' && d.status !== 'not-applicable') set(d, 'waiting', sharing.waiting(rollout, wait));
      drafts.push(d);
    }
  }
  for (const c of layout.conflicts) for (const i of c.indices) block(drafts[i]!, c.reason);
  drafts.push(...leaves);

  applyRequirements(drafts, layout, inv);
  return toActions(drafts, layout, inv?.facts.timezone, sharing);
}

function set(d: Draft, status: PlannedStatus, reason: string | undefined): void {
  d.status = status;
  if (reason === undefined) delete d.reason;
  else d.reason = reason;
}

function block(d: Draft, reason: string): void {
  set(d, 'blocked', reason);
}

/** Planned when Ferry or the inventory says it is installed; otherwise the agent decides if it can (no inventory yet, or `detect`). */
function decideUninstall(d: Draft, inv: Inventory | undefined, byFerry: boolean): void {
  const { package: pkg, version } = d.t;
  if (d.t.definition?.spec.uninstall === undefined) return block(d, `${pkg} ${version} has no uninstall command`);
  if (byFerry || (inv !== undefined && reportsInstalled(inv, pkg, version))) return;
  if (inv === undefined) return set(d, 'unknown', `no inventory reported yet; the agent checks whether ${pkg} ${version} is installed`);
  // detect finds installs made outside Ferry, which the inventory's software list may not show.
  if (d.t.definition.spec.detect !== undefined) return set(d, 'unknown', 'not reported installed; the agent runs detect to decide');
  set(d, 'not-applicable', `${pkg} ${version} is not installed on this host`);
}

function decideInstall(d: Draft, inv: Inventory | undefined, evaluate: Evaluate, sharing: PlanSharing, byFerry: boolean): void {
  const t = d.t;
  const cs = t.conditions;
  let keys = '';
  let results: ConditionResult[] | undefined;
  for (let i = 0; i < cs.length; i++) {
    const r = evaluate(cs[i]!);
    if (results === undefined && r.value.verdict !== 'holds') results = [];
    keys += `${r.key},`;
  }
  if (results === undefined) {
    d.conditions = allHoldOf(t, evaluate);
    d.condKey = 'h';
  } else {
    for (const c of cs) results.push(evaluate(c).value);
    d.conditions = results;
    d.condKey = keys;
  }
  if (t.missingConditions.length > 0) {
    return block(d, `condition ${t.missingConditions.join(', ')} is not defined in the manifests`);
  }
  if (results !== undefined) {
    const v = sharing.verdict(keys, results);
    if (v.status !== undefined) return set(d, v.status, v.reason);
  }
  if (byFerry && inv !== undefined && !reportsInstalled(inv, t.package, t.version)) set(d, 'planned', 'drift: reported missing, reinstalling');
}

/** The shared results of a template whose conditions all hold (holding results are shared objects). */
function allHoldOf(t: ActionTemplate, evaluate: Evaluate): readonly ConditionResult[] {
  let shared = allHold.get(t);
  if (shared === undefined) {
    shared = Object.freeze(t.conditions.map((c) => evaluate(c).value));
    allHold.set(t, shared);
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
    if (targeting && dep.spec.packages.some((p) => p.name === rec.package)) continue;
    const onLeave = dep === undefined ? (rec.onLeave ?? 'keep') : dep.spec.onLeave;
    if (onLeave !== 'uninstall') continue;
    const t = inputs.leaveTemplate(rec.deployment, rec.package, rec.version);
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    const why =
      dep === undefined
        ? `deployment ${rec.deployment} was deleted and said onLeave: uninstall`
        : targeting
          ? `deployment ${rec.deployment} no longer lists ${rec.package} and says onLeave: uninstall`
          : `host left the targets of deployment ${rec.deployment}, which says onLeave: uninstall`;
    const suspended = dep !== undefined && (inputs.rollouts.get(rec.deployment)?.outcome.suspended ?? (dep.spec.suspended ? 'spec' : false)) !== false;
    const d: Draft = { t, status: 'planned', reason: why, conditions: NO_CONDITIONS, condKey: 'n', blockedBy: NO_IDS, suspended };
    if (t.definition === undefined) block(d, `cannot uninstall ${rec.package} ${rec.version}: its Package definition is no longer in the manifests (${why})`);
    else if (t.definition.spec.uninstall === undefined) block(d, `cannot uninstall ${rec.package} ${rec.version}: it has no uninstall command (${why})`);
    drafts.push(d);
  }
  return drafts;
}

/** Fills blockedBy and blocks actions whose requirements are missing or cannot run (in plan order, so blocks cascade). */
function applyRequirements(drafts: readonly Draft[], layout: HostLayout, inv: Inventory | undefined): void {
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i]!;
    if (d.t.requires.length === 0) continue;
    d.blockedBy = layout.blockedBy[i]!;
    const unprovided = layout.unprovided[i]!;
    if (unprovided.length === 0 || d.status === 'blocked' || d.status === 'not-applicable') continue;
    const missing = inv === undefined ? unprovided : unprovided.filter((name) => !reportsName(inv, name));
    if (missing.length > 0) block(d, `requires ${missing.join(', ')}, which no deployment installs on this host`);
  }
  for (const i of layout.order) {
    const d = drafts[i]!;
    if (d.status === 'blocked' || d.status === 'not-applicable') continue;
    const pre = layout.pre[i]!;
    for (let k = 0; k < pre.length; k++) {
      const p = drafts[pre[k]!]!;
      if (p.status === 'blocked' || p.status === 'not-applicable') {
        block(d, `requires ${p.t.package}, whose action ${d.blockedBy[k]!} is ${p.status}`);
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
    const d = drafts[i]!;
    const key = `${d.status}:${d.suspended ? 1 : 0}:${layout.blockedKey[i]!}:${sharing.reasonKey(d.reason)}:${d.condKey}`;
    const a = sharing.action(d.t.fixed(zone), key, d, toAction);
    actions.push(a.value);
    keys.push(a.key);
  }
  return sharing.list(keys.join(','), actions);
}

function toAction(f: FixedFields, d: Draft): PlanAction {
  return {
    id: f.id,
    deployment: f.deployment,
    package: f.package,
    version: f.version,
    op: f.op,
    status: d.status,
    ...(d.reason === undefined ? {} : { reason: d.reason }),
    blockedBy: d.blockedBy,
    artifact: f.artifact,
    ...(f.install === undefined ? {} : { install: f.install }),
    ...(f.uninstall === undefined ? {} : { uninstall: f.uninstall }),
    ...(f.detect === undefined ? {} : { detect: f.detect }),
    conditions: d.condKey === 'n' || d.condKey === 'h' ? d.conditions : Object.freeze(d.conditions),
    distribute: f.distribute,
    ...(f.installWindows === undefined ? {} : { installWindows: f.installWindows }),
    shutdownAfter: f.shutdownAfter,
    suspended: d.suspended,
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
