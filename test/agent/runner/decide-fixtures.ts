import type { Inventory, PlanAction } from '../../../core/plan/types.js';
import type { Local, Situation } from '../../../agent/runner/situation.js';
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

export const GiB = 1024 ** 3;
export const now = Date.parse('2026-12-01T10:00:00Z');
export const at = (min: number) => new Date(now + min * 60_000).toISOString();
export const dir = '/data/packages/editor/2.4.1-9f86d081';

export const inventory: Inventory = {
  host: 'h',
  facts: { os: { platform: 'linux' }, disk: { installRoot: { free: 10 * GiB, total: 100 * GiB } } },
  labels: {},
  software: [{ name: 'legacy-editor', version: '1.0.3', source: 'dpkg' }],
};

/** What a case may set: the situation, and what an observe step found on the host (flat). */
export type Flat = Partial<Omit<Situation, 'local'>> & Partial<Local>;

/** An install with nothing done yet, the plan fresh, every window open; `looked`: an observe step looked at the host. */
export function sit(over: Flat = {}, looked = true): Situation {
  const { content = 'missing', partialBytes = 0, unpacked, installedFolder, inventory: inv = inventory, ...rest } = over;
  const local: Local = { content, partialBytes, inventory: inv, ...(unpacked ? { unpacked } : {}), ...(installedFolder ? { installedFolder } : {}) };
  return {
    action: action(),
    serial: 5,
    expiresAt: at(60 * 24),
    now,
    stopping: false,
    blockers: [],
    checksHeld: [],
    detected: false,
    ...(looked ? { local } : {}),
    ...rest,
  };
}
