/**
 * Dangling references: every group, package, version, condition, schedule and relay a resource
 * names must be defined. Hosts are the exception: they may be unknown until they enroll.
 */
import { entriesOf, type CheckContext, type Entry } from './check-context.js';
import { formatPath } from './json-path.js';
import { didYouMean } from './suggest.js';
import type { Kind } from './types.js';
import type { JsonPath } from './yaml-documents.js';

/** Reports each reference to a resource that no manifest defines. */
export function checkReferences(ctx: CheckContext): void {
  const ref = (entry: Entry, path: JsonPath, kind: Kind, name: string | undefined) => {
    if (name === undefined) return;
    const defined = ctx.known.names.get(kind);
    if (defined?.has(name)) return;
    ctx.report(entry, path, 'error', `${formatPath(path)}: ${kind} "${name}" is not defined${didYouMean(name, defined?.keys() ?? [])}`);
  };
  const refs = (entry: Entry, path: JsonPath, kind: Kind, names: readonly string[]) => names.forEach((n, i) => ref(entry, [...path, i], kind, n));

  for (const e of entriesOf(ctx, 'Group')) {
    refs(e, ['spec', 'include'], 'Group', e.resource.spec.include);
    refs(e, ['spec', 'exclude'], 'Group', e.resource.spec.exclude);
  }
  for (const e of entriesOf(ctx, 'Host')) ref(e, ['spec', 'relay'], 'Relay', e.resource.spec.relay);
  for (const e of entriesOf(ctx, 'Relay')) refs(e, ['spec', 'serves', 'groups'], 'Group', e.resource.spec.serves.groups);
  for (const e of entriesOf(ctx, 'Package')) {
    refs(e, ['spec', 'requires'], 'Package', e.resource.spec.requires);
    refs(e, ['spec', 'conditions'], 'Condition', e.resource.spec.conditions);
    ref(e, ['spec', 'installWindow'], 'Schedule', e.resource.spec.installWindow);
  }
  for (const e of entriesOf(ctx, 'Deployment')) {
    const spec = e.resource.spec;
    spec.packages.forEach((p, i) => {
      const versions = ctx.known.versions.get(p.name);
      if (versions === undefined) return ref(e, ['spec', 'packages', i, 'name'], 'Package', p.name);
      if (versions.has(p.version)) return;
      const known = [...versions].sort().join(', ');
      ctx.report(e, ['spec', 'packages', i, 'version'], 'error', `spec.packages[${i}].version: package ${p.name} has no version "${p.version}" (known: ${known})`);
    });
    refs(e, ['spec', 'targets', 'groups'], 'Group', spec.targets.groups);
    ref(e, ['spec', 'distribute', 'window'], 'Schedule', spec.distribute.window);
    ref(e, ['spec', 'install', 'window'], 'Schedule', spec.install.window);
  }
}
