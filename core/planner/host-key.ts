/**
 * What a host's plan depends on besides its layout, as a string: hosts of one planning run with
 * equal keys get equal action lists, so each distinct key is decided once. planHost reads a
 * host's inventory, installed records, waves and zone only through what the key holds:
 * - whether it has an inventory, and its zone when a template's windows depend on it;
 * - per targeting deployment, the wave it waits in (0: not waiting);
 * - the interned result of each condition the layout evaluates;
 * - per deployment template, whether Ferry installed that package version here and, when that
 *   or an uninstall makes it matter, whether the host reports it (an uninstall's `detect`, which
 *   decides between not-applicable and unknown, is the template's, so the layout holds it);
 * - per unprovided requirement, whether the host reports that name.
 */
import { reportsInstalled, reportsName } from '../conditions/index.js';
import type { Inventory } from '../plan/types.js';
import type { HostLayout } from './host-layout.js';
import type { InstalledRecord } from './types.js';

/** Whether Ferry installed `pkg` at `version` on the host (any deployment). */
export function installedHere(installed: readonly InstalledRecord[], pkg: string, version: string): boolean {
  for (const r of installed) if (r.package === pkg && r.version === version) return true;
  return false;
}

/** The key of a host's actions; see above for what it covers. test/core/planner/memo-property.test.ts checks it against plans decided without it. */
export function hostKey(
  layout: HostLayout,
  inv: Inventory | undefined,
  zone: string | undefined,
  installed: readonly InstalledRecord[],
  waits: readonly number[],
  conditionKeys: readonly number[],
): string {
  let key = `${layout.id}${inv === undefined ? '-' : '+'}${waits.join(',')}/${conditionKeys.join(',')}/`;
  if (layout.zoneMatters) {
    const zoneName = zone ?? '';
    key += `Z${zoneName.length}:${zoneName}`;
  }
  if (inv !== undefined && layout.unprovidedNames.length > 0) {
    key += 'S';
    for (const name of layout.unprovidedNames) key += reportsName(inv, name) ? '1' : '0';
  }
  if (installed.length > 0) {
    key += 'I';
    for (let i = 0; i < layout.deploymentCount; i++) {
      const template = layout.templates[i]!;
      const byFerry = installedHere(installed, template.package, template.version);
      key += byFerry ? '1' : '0';
      if (inv !== undefined && (byFerry || template.op === 'uninstall')) key += reportsInstalled(inv, template.package, template.version) ? '1' : '0';
      else key += '-';
    }
  } else if (inv !== undefined && layout.uninstalls.length > 0) {
    key += 'U';
    for (const i of layout.uninstalls) {
      const template = layout.templates[i]!;
      key += reportsInstalled(inv, template.package, template.version) ? '1' : '0';
    }
  }
  return key;
}
