/** `requires` across a host's actions (Munki's lesson: each dependency followed once, cycles cut). */
import type { Draft } from './plan-host.js';

/** Prerequisite action ids of `d`, deepest first, and the required names nothing provides. */
export function requirementClosure(
  d: Draft,
  installs: ReadonlyMap<string, readonly Draft[]>,
  reportedInstalled: (name: string) => boolean,
): { ids: readonly string[]; missing: readonly string[] } {
  const ids: string[] = [];
  const missing: string[] = [];
  const visited = new Set<string>([d.t.id]);
  const visit = (x: Draft, top: boolean) => {
    for (const name of x.t.requires) {
      const providers = installs.get(name);
      if (providers === undefined) {
        if (top && !reportedInstalled(name) && !missing.includes(name)) missing.push(name);
        continue;
      }
      for (const p of [...providers].sort((a, b) => (a.t.id < b.t.id ? -1 : 1))) {
        if (visited.has(p.t.id)) continue;
        visited.add(p.t.id);
        visit(p, false);
        ids.push(p.t.id);
      }
    }
  };
  visit(d, true);
  return { ids, missing };
}

/** Topological order by blockedBy; among ready actions, the smallest id first. Cycles fall back to id order. */
export function orderActions(drafts: readonly Draft[]): readonly Draft[] {
  const sorted = [...drafts].sort((a, b) => (a.t.id < b.t.id ? -1 : a.t.id > b.t.id ? 1 : 0));
  if (sorted.every((d) => d.blockedBy.length === 0)) return sorted;
  const out: Draft[] = [];
  const done = new Set<string>();
  const present = new Set(sorted.map((d) => d.t.id));
  let rest = sorted;
  while (rest.length > 0) {
    const i = rest.findIndex((d) => d.blockedBy.every((id) => done.has(id) || !present.has(id)));
    const next = rest[i === -1 ? 0 : i]!;
    out.push(next);
    done.add(next.t.id);
    rest = rest.filter((d) => d !== next);
  }
  return out;
}
