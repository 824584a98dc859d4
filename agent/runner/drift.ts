/**
 * Drift (DESIGN §2): a package the journal says Ferry installed, whose `detect` no longer finds
 * it, is forgotten (and reported `pending`), so the inventory stops listing it, the controller
 * re-plans, and the next pass installs it again.
 */
import { stat } from 'node:fs/promises';
import type { CommandSpec } from '../../core/manifest/types.js';
import type { Plan } from '../../core/plan/types.js';
import type { EventSink } from '../log/events.js';
import type { Installer } from './installer.js';
import type { Reporter } from './reporter.js';

/** Runs the detect command of every installed package the plan has one for; returns the packages found missing. */
export async function detectDrift(reporter: Reporter, installer: Installer, plan: Plan | undefined, dataDir: string, events: EventSink): Promise<string[]> {
  if (!plan) return [];
  const missing: string[] = [];
  for (const rec of reporter.journal.installed()) {
    const action = plan.actions.find((a) => a.id === rec.actionId && a.detect) ?? plan.actions.find((a) => a.package === rec.package && a.version === rec.version && a.detect);
    const spec: CommandSpec | undefined = action?.detect;
    if (!spec) continue;
    const folderKept = await stat(rec.dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const dir = folderKept ? rec.dir : dataDir;
    const r = await installer.run(spec, { dir });
    if (r.kind !== 'failed') continue; // found, or detect itself is broken
    const reason = `drift: detect no longer finds ${rec.package} ${rec.version}; it will be installed again`;
    const base = { actionId: rec.actionId, serial: plan.serial };
    reporter.markUninstalled(base, rec.package);
    reporter.transition({ ...base, phase: 'pending', reason }, { ...base, state: 'pending', reason });
    events.emit({ event: 'drift', level: 'warn', action: rec.actionId, package: rec.package, version: rec.version, message: reason });
    missing.push(rec.package);
  }
  return missing;
}
