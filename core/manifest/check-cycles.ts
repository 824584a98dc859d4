/** Cycles in Group include/exclude and in Package requires, each named once: `include cycle: a → b → a`. */
import { entriesOf, type CheckContext, type Entry } from './check-context.js';
import type { JsonPath } from './yaml-documents.js';

interface Edge {
  readonly to: string;
  readonly entry: Entry;
  readonly path: JsonPath;
  readonly label: string;
}

/** Reports each cycle at the reference that leaves its smallest name. */
export function checkCycles(ctx: CheckContext): void {
  const groups = new Map<string, Edge[]>();
  for (const e of entriesOf(ctx, 'Group')) {
    if (groups.has(e.resource.metadata.name)) continue;
    const edges: Edge[] = [];
    e.resource.spec.include.forEach((to, i) => edges.push({ to, entry: e, path: ['spec', 'include', i], label: 'include' }));
    e.resource.spec.exclude.forEach((to, i) => edges.push({ to, entry: e, path: ['spec', 'exclude', i], label: 'exclude' }));
    groups.set(e.resource.metadata.name, edges);
  }
  for (const cycle of findCycles(groups)) {
    const names = [...cycle.map((c) => c.from), cycle[0]!.from];
    const pure = cycle.every((c) => c.edge.label === 'include');
    const text = pure ? `include cycle: ${names.join(' → ')}` : `group cycle: ${cycle.map((c) => `${c.from} ${c.edge.label}s ${c.edge.to}`).join(', ')}`;
    ctx.report(cycle[0]!.edge.entry, cycle[0]!.edge.path, 'error', `${text}; remove one of these references`);
  }

  const packages = new Map<string, Edge[]>();
  for (const e of entriesOf(ctx, 'Package')) {
    const edges = packages.get(e.resource.metadata.name) ?? [];
    e.resource.spec.requires.forEach((to, i) => edges.push({ to, entry: e, path: ['spec', 'requires', i], label: 'requires' }));
    packages.set(e.resource.metadata.name, edges);
  }
  for (const cycle of findCycles(packages)) {
    const names = [...cycle.map((c) => c.from), cycle[0]!.from];
    ctx.report(cycle[0]!.edge.entry, cycle[0]!.edge.path, 'error', `requires cycle: ${names.join(' → ')}; remove one of these requirements`);
  }
}

interface Step {
  readonly from: string;
  readonly edge: Edge;
}

/** Cycles found by depth-first search in name order, each rotated to start at its smallest name, without repeats. */
function findCycles(graph: ReadonlyMap<string, readonly Edge[]>): Step[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: Step[] = [];
  const onStack: string[] = [];
  const seen = new Set<string>();
  const cycles: Step[][] = [];

  const visit = (node: string) => {
    state.set(node, 'open');
    onStack.push(node);
    for (const edge of graph.get(node) ?? []) {
      if (!graph.has(edge.to)) continue;
      stack.push({ from: node, edge });
      const s = state.get(edge.to);
      if (s === 'open') {
        const start = onStack.indexOf(edge.to);
        const cycle = stack.slice(stack.length - (onStack.length - start));
        const min = cycle.reduce((m, c, i) => (c.from < cycle[m]!.from ? i : m), 0);
        const rotated = [...cycle.slice(min), ...cycle.slice(0, min)];
        const key = rotated.map((c) => `${c.from}>${c.edge.label}>${c.edge.to}`).join('|');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(rotated);
        }
      } else if (s === undefined) visit(edge.to);
      stack.pop();
    }
    onStack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}
