import type { PlanAction } from '../../../core/plan/types.js';
import type { Step } from '../../../agent/runner/step.js';

/** The step `decide` gives while a distribution window (opening at `until`) is still closed. */
export function windowWait(until: string, bytesDone: number): Step {
  const reason = `distribution window opens at ${until}`;
  return { kind: 'wait', why: 'distribution-window', reason, until, note: { state: 'waiting', reason, bytesDone } };
}

const cmd = (...command: string[]) => ({ command, timeoutMs: 60_000, env: {} });
export const installCmd = cmd('sh', 'install.sh');
export const uninstallCmd = cmd('sh', 'uninstall.sh');

/** The plan action the decide tables start from (editor 2.4.1 of deployment d), with any field overridden. */
export function action(over: Partial<PlanAction> = {}): PlanAction {
  const op = over.op ?? 'install';
  return {
    id: `d/editor@2.4.1/${op}`,
    deployment: 'd',
    package: 'editor',
    version: '2.4.1',
    op,
    status: 'planned',
    blockedBy: [],
    artifact: { sha256: '9f86d081'.padEnd(64, '0'), size: 1000 },
    install: installCmd,
    uninstall: uninstallCmd,
    conditions: [],
    distribute: { multicast: false, wake: false },
    shutdownAfter: false,
    suspended: false,
    ...over,
  };
}
