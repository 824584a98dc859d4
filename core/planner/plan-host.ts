/**
 * The plan of one host (DESIGN §2): one action per package of each deployment targeting it, plus
 * onLeave uninstalls, each with its status and a plain reason for anything not simply planned.
 * Precedence of statuses: blocked (no package definition, conflict) → not-applicable (a condition
 * fails, nothing to uninstall) → blocked (a requirement is missing or cannot run) → waiting
 * (rollout wave) → unknown (only the agent can decide) → planned.
 */
import { evaluateCondition, reportsInstalled } from '../conditions/index.js';
import type { ConditionResource, Snapshot } from '../manifest/types.js';
import type { ConditionResult, ContentSource, HostPlan, Inventory, PlanAction, PlannedStatus } from '../plan/types.js';
import { orderActions, requirementClosure } from './requirements.js';
import type { ActionTemplate } from './templates.js';
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
}

/** An action being decided. */
export interface Draft {
  readonly t: ActionTemplate;
  status: PlannedStatus;
  reason?: string;
  conditions: readonly ConditionResult[];
  blockedBy: readonly string[];
  readonly suspended: boolean;
}

const NO_CONDITIONS: readonly ConditionResult[] = Object.freeze([]);
const NO_IDS: readonly string[] = Object.freeze([]);
const allHold = new WeakMap<ActionTemplate, readonly ConditionResult[]>();

/** The plan of one host; deterministic in its inputs. */
export function planHost(host: string, inputs: HostInputs): HostPlan {
  const inv = inputs.inventory;
  const zone = inv?.facts.timezone;
  const drafts: Draft[] = [];
  const wanted = new Map<string, Draft[]>(); // package name → drafts asking for it
  const installedHere = (pkg: string, version: string) => inputs.installed.some((r) => r.package === pkg && r.version === version);

  const conditionCache = new Map<ConditionResource, ConditionResult>();
  const evaluate = (c: ConditionResource) => {
    let r = conditionCache.get(c);
    if (r === undefined) {
      r = evaluateCondition(c, inv);
      conditionCache.set(c, r);
    }
    return r;
  };

  for (const depName of inputs.deployments) {
    const rollout = inputs.rollouts.get(depName)!;
    const suspended = rollout.outcome.suspended !== false;
    const wave = rollout.waveOf.get(host) ?? 1;
    const current = rollout.outcome.currentWave;
    for (const t of inputs.templates(depName)) {
      const d: Draft = { t, status: 'planned', conditions: NO_CONDITIONS, blockedBy: NO_IDS, suspended };
      if (t.definition === undefined) block(d, `package ${t.package} ${t.version} is not defined in the manifests`);
      else if (t.op === 'uninstall') decideUninstall(d, inv, installedHere(t.package, t.version));
      else decideInstall(d, inv, evaluate, installedHere(t.package, t.version));
      if (wave > current && d.status !== 'blocked' && d.status !== 'not-applicable') {
        set(d, 'waiting', `rollout wave ${wave} of ${rollout.outcome.waves} waits for wave ${current}`);
      }
      drafts.push(d);
      const list = wanted.get(t.package);
      if (list === undefined) wanted.set(t.package, [d]);
      else list.push(d);
    }
  }
  markConflicts(wanted);
  leaveActions(host, inputs, wanted, drafts);

  const ordered = applyRequirements(drafts, inv);
  const actions = ordered.map(toAction(zone));
  return { host, sources: inputs.sources, actions };
}

function set(d: Draft, status: PlannedStatus, reason: string | undefined): void {
  d.status = status;
  if (reason === undefined) delete d.reason;
  else d.reason = reason;
}

function block(d: Draft, reason: string): void {
  set(d, 'blocked', reason);
}

function decideUninstall(d: Draft, inv: Inventory | undefined, byFerry: boolean): void {
  const { package: pkg, version } = d.t;
  if (d.t.definition?.spec.uninstall === undefined) return block(d, `${pkg} ${version} has no uninstall command`);
  if (byFerry || (inv !== undefined && reportsInstalled(inv, pkg, version))) return;
  if (inv === undefined) return set(d, 'unknown', `no inventory reported yet; the agent checks whether ${pkg} ${version} is installed`);
  set(d, 'not-applicable', `${pkg} ${version} is not installed on this host`);
}

function decideInstall(d: Draft, inv: Inventory | undefined, evaluate: (c: ConditionResource) => ConditionResult, byFerry: boolean): void {
  const t = d.t;
  let allHolding = true;
  const results = t.conditions.map((c) => {
    const r = evaluate(c);
    if (r.verdict !== 'holds') allHolding = false;
    return r;
  });
  if (allHolding) {
    let shared = allHold.get(t);
    if (shared === undefined) {
      shared = Object.freeze(results);
      allHold.set(t, shared);
    }
    d.conditions = shared;
  } else {
    d.conditions = results;
  }
  if (t.missingConditions.length > 0) {
    return block(d, `condition ${t.missingConditions.join(', ')} is not defined in the manifests`);
  }
  const failing = results.filter((r) => r.verdict === 'fails');
  if (failing.length > 0) return set(d, 'not-applicable', failing.map((r) => `${r.reason} (condition ${r.name})`).join('; '));
  const unknown = results.filter((r) => r.verdict === 'unknown');
  if (unknown.length > 0) return set(d, 'unknown', unknown.map((r) => `${r.reason} (condition ${r.name})`).join('; '));
  if (byFerry && inv !== undefined && !reportsInstalled(inv, t.package, t.version)) set(d, 'planned', 'drift: reported missing, reinstalling');
}

/** Two deployments asking one package at different versions or states: all of them blocked, none applied. */
function markConflicts(wanted: ReadonlyMap<string, readonly Draft[]>): void {
  for (const [pkg, list] of wanted) {
    const asks = new Set(list.map((d) => `${d.t.version}\0${d.t.op}`));
    if (asks.size < 2) continue;
    const who = [...new Set(list.map((d) => `${d.t.deployment} (${d.t.version} ${d.t.op === 'install' ? 'present' : 'absent'})`))].sort();
    const reason = `conflict: deployments ${who.join(' and ')} ask different versions or states of ${pkg} on this host; neither is applied`;
    for (const d of list) block(d, reason);
  }
}

/**
 * onLeave: uninstall for what Ferry installed here for a deployment that no longer asks for it on
 * this host (left its targets, dropped the package, or was deleted). A package another targeting
 * deployment asks for is left to that deployment.
 */
function leaveActions(host: string, inputs: HostInputs, wanted: ReadonlyMap<string, readonly Draft[]>, drafts: Draft[]): void {
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
    const d: Draft = { t, status: 'planned', reason: why, conditions: NO_CONDITIONS, blockedBy: NO_IDS, suspended };
    if (t.definition === undefined) block(d, `cannot uninstall ${rec.package} ${rec.version}: its Package definition is no longer in the manifests (${why})`);
    else if (t.definition.spec.uninstall === undefined) block(d, `cannot uninstall ${rec.package} ${rec.version}: it has no uninstall command (${why})`);
    drafts.push(d);
  }
}

/** Fills blockedBy, blocks actions whose requirements are missing or cannot run, and orders the plan. */
function applyRequirements(drafts: Draft[], inv: Inventory | undefined): readonly Draft[] {
  const installs = new Map<string, Draft[]>();
  for (const d of drafts) {
    if (d.t.op !== 'install') continue;
    const list = installs.get(d.t.package);
    if (list === undefined) installs.set(d.t.package, [d]);
    else list.push(d);
  }
  for (const d of drafts) {
    if (d.t.requires.length === 0) continue;
    const closure = requirementClosure(d, installs, (name) => inv !== undefined && (inv.software.some((s) => s.name === name)));
    d.blockedBy = closure.ids;
    if (closure.missing.length > 0 && d.status !== 'blocked' && d.status !== 'not-applicable') {
      const names = closure.missing.join(', ');
      block(d, `requires ${names}, which no deployment installs on this host`);
    }
  }
  const ordered = orderActions(drafts);
  const byId = new Map(ordered.map((d) => [d.t.id, d] as const));
  for (const d of ordered) {
    if (d.status === 'blocked' || d.status === 'not-applicable') continue;
    for (const id of d.blockedBy) {
      const pre = byId.get(id)!;
      if (pre.status === 'blocked' || pre.status === 'not-applicable') {
        block(d, `requires ${pre.t.package}, whose action ${id} is ${pre.status}`);
        break;
      }
    }
  }
  return ordered;
}

function toAction(zone: string | undefined): (d: Draft) => PlanAction {
  return (d) => {
    const f = d.t.fixed(zone);
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
      conditions: d.conditions,
      distribute: f.distribute,
      ...(f.installWindows === undefined ? {} : { installWindows: f.installWindows }),
      shutdownAfter: f.shutdownAfter,
      suspended: d.suspended,
    };
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
