/** `requires` across a host's actions (Munki's lesson: each dependency followed once, cycles cut). */
import type { ActionTemplate } from './templates.js';

/** An action as far as ordering is concerned. */
export interface Ordered {
  readonly template: ActionTemplate;
  readonly blockedBy: readonly string[];
}

/**
 * Prerequisite action ids of `template`, deepest first, and the names it itself requires that no action
 * installs (`unprovided`, in order, each once; the host may still report them installed).
 */
export function requirementClosure(template: ActionTemplate, installs: ReadonlyMap<string, readonly ActionTemplate[]>): { ids: readonly string[]; unprovided: readonly string[] } {
  const ids: string[] = [];
  const unprovided: string[] = [];
  const visited = new Set<string>([template.id]);
  const visit = (x: ActionTemplate, top: boolean) => {
    for (const name of x.requires) {
      const providers = installs.get(name);
      if (providers === undefined) {
        if (top && !unprovided.includes(name)) unprovided.push(name);
        continue;
      }
      for (const p of [...providers].sort((a, b) => (a.id < b.id ? -1 : 1))) {
        if (visited.has(p.id)) continue;
        visited.add(p.id);
        visit(p, false);
        ids.push(p.id);
      }
    }
  };
  visit(template, true);
  return { ids, unprovided };
}

/** Topological order by blockedBy; among ready actions, the smallest id first. Cycles fall back to id order. */
export function orderActions<T extends Ordered>(drafts: readonly T[]): readonly T[] {
  const sorted = [...drafts].sort((a, b) => (a.template.id < b.template.id ? -1 : a.template.id > b.template.id ? 1 : 0));
  if (sorted.every((d) => d.blockedBy.length === 0)) return sorted;
  const out: T[] = [];
  const done = new Set<string>();
  const present = new Set(sorted.map((draft) => draft.template.id));
  let rest = sorted;
  while (rest.length > 0) {
    const i = rest.findIndex((d) => d.blockedBy.every((id) => done.has(id) || !present.has(id)));
    const next = rest[i === -1 ? 0 : i]!;
    out.push(next);
    done.add(next.template.id);
    rest = rest.filter((d) => d !== next);
  }
  return out;
}
