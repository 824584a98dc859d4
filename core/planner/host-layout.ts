/**
 * What a host's plan takes from its list of action templates alone, whatever its inventory:
 * conflicts, blockedBy, unprovided requirements and the order of the actions. Hosts with the same
 * deployments (and onLeave uninstalls) share one layout.
 */
import type { ConditionResource } from '../manifest/types.js';
import { orderActions, requirementClosure } from './requirements.js';
import type { ActionTemplate } from './templates.js';

/** Actions of one package that conflict, and the reason all of them are blocked. */
export interface Conflict {
  readonly indices: readonly number[];
  readonly reason: string;
}

export interface HostLayout {
  /** Distinct per layout within a planning run. */
  readonly id: number;
  /** Templates: the deployments' (in deployment order, then listed order), then onLeave uninstalls. */
  readonly templates: readonly ActionTemplate[];
  /** How many of the templates come from targeting deployments (the rest are onLeave uninstalls). */
  readonly deploymentCount: number;
  /** Package names the deployment templates (not the onLeave ones) ask for. */
  readonly packages: ReadonlySet<string>;
  readonly conflicts: readonly Conflict[];
  /** Per template: prerequisite action ids (a shared frozen array). */
  readonly blockedBy: readonly (readonly string[])[];
  /** Per template: the id of its blockedBy array among the run's interned ones. */
  readonly blockedKey: readonly number[];
  /** Per template: required names no action installs (missing unless the host reports them). */
  readonly unprovided: readonly (readonly string[])[];
  /** Template indices in plan order. */
  readonly order: readonly number[];
  /** Per template: indices of its blockedBy actions, in blockedBy order. */
  readonly pre: readonly (readonly number[])[];
  /** What a host's plan with this layout can depend on besides its layout (see host-key.ts). */
  readonly zoneMatters: boolean;
  /** The conditions the deployment templates evaluate, each once, in first-use order. */
  readonly conditions: readonly ConditionResource[];
  /** Indices of the deployment templates that uninstall. */
  readonly uninstalls: readonly number[];
  /** Every unprovided name, each once. */
  readonly unprovidedNames: readonly string[];
}

const NO_IDS: readonly string[] = Object.freeze([]);

/** Interns blockedBy arrays within one planning run: equal lists share one frozen array and key. */
export class IdLists {
  private readonly lists = new Map<string, { readonly ids: readonly string[]; readonly key: number }>([['', { ids: NO_IDS, key: 0 }]]);

  intern(ids: readonly string[]): { readonly ids: readonly string[]; readonly key: number } {
    const k = ids.join('\n');
    let e = this.lists.get(k);
    if (e === undefined) {
      e = { ids: Object.freeze([...ids]), key: this.lists.size };
      this.lists.set(k, e);
    }
    return e;
  }
}

/** The layout of `templates`, of which the first `deploymentCount` come from targeting deployments. */
export function hostLayout(id: number, templates: readonly ActionTemplate[], deploymentCount: number, idLists: IdLists): HostLayout {
  const wanted = new Map<string, number[]>();
  for (let i = 0; i < deploymentCount; i++) {
    const pkg = templates[i]!.package;
    const list = wanted.get(pkg);
    if (list === undefined) wanted.set(pkg, [i]);
    else list.push(i);
  }
  const conflicts: Conflict[] = [];
  for (const [pkg, list] of wanted) {
    const templatesOfPackage = list.map((i) => templates[i]!);
    const asks = new Set(templatesOfPackage.map((template) => `${template.version}\0${template.op}`));
    if (asks.size < 2) continue;
    const who = [...new Set(templatesOfPackage.map((template) => `${template.deployment} (${template.version} ${template.op === 'install' ? 'present' : 'absent'})`))].sort();
    conflicts.push({ indices: list, reason: `conflict: deployments ${who.join(' and ')} ask different versions or states of ${pkg} on this host; neither is applied` });
  }

  const installs = new Map<string, ActionTemplate[]>();
  for (const template of templates) {
    if (template.op !== 'install') continue;
    const list = installs.get(template.package);
    if (list === undefined) installs.set(template.package, [template]);
    else list.push(template);
  }
  const blockedBy: (readonly string[])[] = [];
  const blockedKey: number[] = [];
  const unprovided: (readonly string[])[] = [];
  for (const template of templates) {
    if (template.requires.length === 0) {
      blockedBy.push(NO_IDS);
      blockedKey.push(0);
      unprovided.push(NO_IDS);
      continue;
    }
    const closure = requirementClosure(template, installs);
    const interned = idLists.intern(closure.ids);
    blockedBy.push(interned.ids);
    blockedKey.push(interned.key);
    unprovided.push(closure.unprovided);
  }

  const ordered = orderActions(templates.map((template, index) => ({ template, blockedBy: blockedBy[index]!, index })));
  const byId = new Map(ordered.map((entry) => [entry.template.id, entry.index] as const));
  const conditions = new Set<ConditionResource>();
  const uninstalls: number[] = [];
  for (let i = 0; i < deploymentCount; i++) {
    const template = templates[i]!;
    if (template.definition === undefined) continue;
    if (template.op === 'uninstall') uninstalls.push(i);
    else for (const c of template.conditions) conditions.add(c);
  }
  return {
    id,
    templates,
    deploymentCount,
    packages: new Set(wanted.keys()),
    conflicts,
    blockedBy,
    blockedKey,
    unprovided,
    order: ordered.map((d) => d.index),
    pre: blockedBy.map((ids) => ids.map((x) => byId.get(x)!)),
    zoneMatters: templates.some((template) => template.zoneMatters),
    conditions: [...conditions],
    uninstalls,
    unprovidedNames: [...new Set(unprovided.flat())],
  };
}
