import { expect } from 'chai';
import type { PlanAction } from '../../../core/plan/types.js';
import { decide } from '../../../agent/runner/decide.js';
import type { CommandOutcome } from '../../../agent/runner/installer.js';
import { pauseWhy } from '../../../agent/runner/pause.js';
import type { Situation } from '../../../agent/runner/situation.js';
import type { Step } from '../../../agent/runner/step.js';
import { type Flat, GiB, action, at, dir, installCmd, now, sit, uninstallCmd, windowWait } from './decide-fixtures.js';

const cmd = (...command: string[]) => ({ command, timeoutMs: 60_000, env: {} });
const detectCmd = cmd('sh', '-c', 'test -f /opt/editor/VERSION');
const licenseCheck = cmd('/usr/local/bin/license-check');
const oldDir = '/old/packages/editor/2.4.1-9f86d081';

const uninstallAction = (over: Partial<PlanAction> = {}) => action({ op: 'uninstall', ...over });

/** Settled from the journal alone, without looking at the host. */
const journalOnly = (over: Flat = {}) => sit(over, false);
/** Downloaded and unpacked in this boot: ready to install. */
const ready = (over: Flat = {}) => sit({ content: 'verified', unpacked: dir, ...over });
const ran = (kind: CommandOutcome['kind'], exitCode?: number, reason?: string): CommandOutcome => ({
  kind,
  ...(exitCode !== undefined ? { exitCode } : {}),
  output: 'the output',
  durationMs: 5,
  ...(reason ? { reason } : {}),
});
const diskCond = { name: 'enough-disk', verdict: 'holds' as const, spec: { minDiskFree: 20 * GiB } };
const noLegacy = { name: 'no-legacy', verdict: 'holds' as const, spec: { software: { present: [], absent: [{ name: 'legacy-editor' }] } } };
const licensed = { name: 'licensed', verdict: 'holds' as const, spec: { check: licenseCheck } };
/** A skip whose reason the agent also records: not applicable here, or held back by the controller (shown waiting). */
const notApplicable = (reason: string): Step => ({ kind: 'skip', why: 'not-applicable', reason, note: { state: 'not-applicable', reason } });
const blocked = (reason: string): Step => ({ kind: 'skip', why: 'blocked', reason, note: { state: 'waiting', reason } });
/** A download that paused at byte 512 of 1000, and the wait it leads to (recorded with its bytes). */
const pausedDownload = (why: 'suspended' | 'window' | 'stopping', over: Flat = {}) =>
  sit({ ...over, last: { step: 'download', outcome: { kind: 'paused', bytesDone: 512, problems: [] }, why } });
const pausedWait = (why: 'suspended' | 'distribution-window', reason: string, state: 'suspended' | 'waiting'): Step => ({
  kind: 'wait',
  why,
  reason,
  note: { state, reason, bytesDone: 512 },
});
/** An uninstall with a detect command, its content verified and unpacked. */
const detectedUninstall = (over: Flat) => sit({ action: uninstallAction({ detect: detectCmd }), content: 'verified', unpacked: dir, ...over });
const notFound = 'detect does not find editor 2.4.1 on this host; nothing to uninstall';
const later = [{ start: at(120), end: at(180) }];
const open = [{ start: at(-5), end: at(55) }];

interface Case {
  readonly name: string;
  readonly situation: Situation;
  readonly expected: Step;
}

const cases: Case[] = [
  // Before anything else.
  {
    name: 'an expired plan starts nothing (freeze)',
    situation: journalOnly({ expiresAt: at(-1) }),
    expected: { kind: 'wait', why: 'plan-expired', reason: `plan 5 expired at ${at(-1)}; nothing new starts until a fresh plan arrives` },
  },
  {
    name: 'a stopping agent starts nothing',
    situation: journalOnly({ stopping: true }),
    expected: { kind: 'wait', why: 'stopping', reason: 'the agent is stopping' },
  },
  {
    name: 'an install interrupted by a crash and not resolved by recovery is not started again',
    situation: journalOnly({ record: { phase: 'installing', serial: 5 } }),
    expected: { kind: 'wait', why: 'interrupted', reason: 'an interrupted install is not resolved yet' },
  },
  {
    name: 'already installed by Ferry: done, recorded once',
    situation: journalOnly({ installed: { dir }, installedFolder: 'fresh', record: { phase: 'pending', serial: 4 } }),
    expected: { kind: 'done', reason: 'editor 2.4.1 is already installed by Ferry', note: { state: 'installed', reason: 'editor 2.4.1 is already installed by Ferry' } },
  },
  {
    name: 'already installed and recorded so: done, nothing to record',
    situation: journalOnly({ installed: { dir }, installedFolder: 'stale', record: { phase: 'installed', serial: 5 } }),
    expected: { kind: 'done', reason: 'editor 2.4.1 is already installed by Ferry' },
  },
  {
    name: 'an uninstall recorded done and not installed: done',
    situation: journalOnly({ action: uninstallAction(), record: { phase: 'uninstalled', serial: 3 } }),
    expected: { kind: 'done', reason: 'editor 2.4.1 is uninstalled' },
  },
  // The controller's word.
  {
    name: 'not-applicable by the controller',
    situation: journalOnly({ action: action({ status: 'not-applicable', reason: 'disk free 1.2 GiB < 2 GiB (condition enough-disk)' }) }),
    expected: notApplicable('disk free 1.2 GiB < 2 GiB (condition enough-disk)'),
  },
  {
    name: 'not-applicable and already recorded so: nothing to record',
    situation: journalOnly({ action: action({ status: 'not-applicable' }), record: { phase: 'not-applicable', serial: 5, reason: 'not applicable' } }),
    expected: { kind: 'skip', why: 'not-applicable', reason: 'not applicable' },
  },
  {
    name: 'blocked by the controller (conflicting deployments)',
    situation: journalOnly({ action: action({ status: 'blocked', reason: 'deployments a and b ask for two versions' }) }),
    expected: blocked('blocked: deployments a and b ask for two versions'),
  },
  {
    name: 'waiting by the controller (a rollout wave)',
    situation: journalOnly({ action: action({ status: 'waiting', reason: 'rollout wave 2' }) }),
    expected: { kind: 'wait', why: 'controller-waiting', reason: 'rollout wave 2', note: { state: 'waiting', reason: 'rollout wave 2' } },
  },
  {
    name: 'a planned install, the host not looked at yet: observe it',
    situation: journalOnly(),
    expected: { kind: 'observe' },
  },
  {
    name: 'suspended, the host not looked at yet: observe it (for the bytes kept)',
    situation: journalOnly({ action: action({ suspended: true }) }),
    expected: { kind: 'observe' },
  },
  {
    name: 'suspended: recorded with the bytes kept so far',
    situation: sit({ action: action({ suspended: true }), partialBytes: 400 }),
    expected: { kind: 'wait', why: 'suspended', reason: 'deployment d is suspended', note: { state: 'suspended', reason: 'deployment d is suspended', bytesDone: 400 } },
  },
  {
    name: 'blocked by a required action that is not done yet',
    situation: journalOnly({
      blockers: [
        { id: 'd/runtime-lib@1.0.0/install', done: true },
        { id: 'd/core-lib@2.0.0/install', done: false },
      ],
    }),
    expected: { kind: 'wait', why: 'blocked-by', reason: 'waiting for d/core-lib@2.0.0/install', note: { state: 'waiting', reason: 'waiting for d/core-lib@2.0.0/install' } },
  },
  {
    name: 'failed under this serial: not tried again until a new serial',
    situation: journalOnly({ record: { phase: 'failed', serial: 5, reason: 'install exited with code 7', retry: 'new-serial' } }),
    expected: { kind: 'failed', reason: 'failed under plan serial 5: install exited with code 7; tried again under a new serial' },
  },
  {
    name: 'failed under this serial, by a journal from before retry was recorded: not tried again',
    situation: journalOnly({ record: { phase: 'failed', serial: 5, reason: 'interrupted during install; not rerun automatically' } }),
    expected: { kind: 'failed', reason: 'failed under plan serial 5: interrupted during install; not rerun automatically; tried again under a new serial' },
  },
  {
    name: 'a download that failed under this serial is tried again on the next pass',
    situation: sit({ record: { phase: 'failed', serial: 5, reason: 'download failed: all 1 source(s) failed', retry: 'next-pass' }, partialBytes: 300 }),
    expected: { kind: 'download', honourWindow: true, note: { state: 'downloading', bytesDone: 300, reason: 'resuming at byte 300 of 1000' } },
  },
  {
    name: 'an install that failed under an older serial is tried again',
    situation: ready({ record: { phase: 'failed', serial: 4, reason: 'install exited with code 7', retry: 'new-serial' } }),
    expected: { kind: 'install', spec: installCmd, dir, note: { state: 'installing', dir } },
  },
  // Install: conditions, content, windows.
  {
    name: 'a hardware condition that fails here before downloading: not-applicable',
    situation: sit({ action: action({ conditions: [diskCond] }) }),
    expected: notApplicable('disk free 10 GiB < 20 GiB (condition enough-disk)'),
  },
  {
    name: 'a software condition that fails here: not-applicable',
    situation: ready({ action: action({ conditions: [noLegacy] }) }),
    expected: notApplicable('legacy-editor 1.0.3 is installed (condition no-legacy)'),
  },
  {
    name: 'distribution window closed: waits until it opens, with the bytes kept',
    situation: sit({ action: action({ distribute: { multicast: false, wake: false, windows: later } }), partialBytes: 200 }),
    expected: windowWait(later[0]!.start, 200),
  },
  {
    name: 'distribution notBefore ahead: waits for it',
    situation: sit({ action: action({ distribute: { multicast: false, wake: false, notBefore: at(30) } }) }),
    expected: windowWait(at(30), 0),
  },
  {
    name: 'no distribution window ahead in the plan',
    situation: sit({ action: action({ distribute: { multicast: false, wake: false, windows: [] } }) }),
    expected: {
      kind: 'wait',
      why: 'distribution-window',
      reason: 'no distribution window ahead in the plan',
      note: { state: 'waiting', reason: 'no distribution window ahead in the plan', bytesDone: 0 },
    },
  },
  {
    name: 'content missing, window open: download',
    situation: sit({ action: action({ distribute: { multicast: false, wake: false, windows: open } }) }),
    expected: { kind: 'download', honourWindow: true, note: { state: 'downloading', bytesDone: 0 } },
  },
  {
    name: 'content kept from an earlier boot: verify it first',
    situation: sit({ content: 'unverified' }),
    expected: { kind: 'verify' },
  },
  {
    name: 'content verified, not unpacked in this boot: unpack',
    situation: sit({ content: 'verified' }),
    expected: { kind: 'unpack' },
  },
  {
    name: 'downloaded, install window closed: waits for it',
    situation: ready({ action: action({ installWindows: later }) }),
    expected: {
      kind: 'wait',
      why: 'install-window',
      reason: `downloaded; install window opens at ${later[0]!.start}`,
      until: later[0]!.start,
      note: { state: 'waiting', reason: `downloaded; install window opens at ${later[0]!.start}` },
    },
  },
  {
    name: 'downloaded, no install window ahead, already recorded so',
    situation: ready({ action: action({ installWindows: [] }), record: { phase: 'waiting', serial: 5, reason: 'downloaded; no install window ahead in the plan' } }),
    expected: { kind: 'wait', why: 'install-window', reason: 'downloaded; no install window ahead in the plan' },
  },
  {
    name: 'a check program not run yet in this pass: run it in the package folder',
    situation: ready({ action: action({ conditions: [licensed] }) }),
    expected: { kind: 'check', condition: 'licensed', spec: licenseCheck, dir },
  },
  {
    name: 'the check program held: install',
    situation: ready({ action: action({ conditions: [licensed] }), checksHeld: ['licensed'] }),
    expected: { kind: 'install', spec: installCmd, dir, note: { state: 'installing', dir } },
  },
  {
    name: 'no install command: failed until a new serial',
    situation: ready({ action: action({ install: undefined }) }),
    expected: { kind: 'failed', reason: 'editor 2.4.1 has no install command', note: { state: 'failed', reason: 'editor 2.4.1 has no install command', retry: 'new-serial' } },
  },
  // After a step.
  {
    name: 'download verified: record downloaded with the source',
    situation: sit({ content: 'verified', last: { step: 'download', outcome: { kind: 'verified', source: 'controller', bytesFetched: 1000, problems: [] } } }),
    expected: { kind: 'report', note: { state: 'downloaded', bytesDone: 1000, reason: 'sha256 verified; from controller' } },
  },
  {
    name: 'download verified after a bad source: the problem is in the reason',
    situation: sit({
      content: 'verified',
      last: {
        step: 'download',
        outcome: { kind: 'verified', source: 'controller', bytesFetched: 1000, problems: [{ source: 'osaka', kind: 'refused', message: 'sha256 mismatch: expected a got b' }] },
      },
    }),
    expected: { kind: 'report', note: { state: 'downloaded', bytesDone: 1000, reason: 'sha256 verified; from controller after: osaka: sha256 mismatch: expected a got b' } },
  },
  {
    name: 'download paused by a suspension: suspended at the boundary',
    situation: pausedDownload('suspended'),
    expected: pausedWait('suspended', 'deployment d is suspended; paused at byte 512 of 1000', 'suspended'),
  },
  {
    name: 'download paused by the window closing',
    situation: pausedDownload('window'),
    expected: pausedWait('distribution-window', 'distribution window closed; paused at byte 512 of 1000', 'waiting'),
  },
  {
    name: 'download paused because the agent stops: nothing to record',
    situation: pausedDownload('stopping', { stopping: true }),
    expected: { kind: 'wait', why: 'download-paused', reason: 'the agent is stopping; paused at byte 512 of 1000' },
  },
  {
    name: 'download failed: failed, tried again on the next pass',
    situation: sit({
      last: { step: 'download', outcome: { kind: 'failed', local: false, message: 'all 1 source(s) failed; last: controller: HTTP 404', bytesDone: 0, problems: [] } },
    }),
    expected: {
      kind: 'failed',
      reason: 'download failed: all 1 source(s) failed; last: controller: HTTP 404',
      note: { state: 'failed', reason: 'download failed: all 1 source(s) failed; last: controller: HTTP 404', bytesDone: 0, retry: 'next-pass' },
    },
  },
  {
    name: 'unpack failed (an unsafe archive): failed until a new serial',
    situation: sit({ content: 'verified', last: { step: 'unpack', outcome: { ok: false, reason: 'unsafe archive: ../etc/passwd' } } }),
    expected: { kind: 'failed', reason: 'unsafe archive: ../etc/passwd', note: { state: 'failed', reason: 'unsafe archive: ../etc/passwd', retry: 'new-serial' } },
  },
  {
    name: 'unpacked: go on deciding (install)',
    situation: ready({ last: { step: 'unpack', outcome: { ok: true, dir } } }),
    expected: { kind: 'install', spec: installCmd, dir, note: { state: 'installing', dir } },
  },
  {
    name: 'a check program that does not hold: not-applicable with its reason',
    situation: ready({
      action: action({ conditions: [licensed] }),
      last: { step: 'check', condition: 'licensed', spec: licenseCheck, outcome: ran('failed', 4, 'exited with code 4') },
    }),
    expected: notApplicable('check /usr/local/bin/license-check exited with code 4 (condition licensed)'),
  },
  {
    name: 'the installer succeeded: installed, with its output, even while the agent stops',
    situation: ready({ stopping: true, record: { phase: 'installing', serial: 5 }, last: { step: 'install', dir, outcome: ran('succeeded', 0) } }),
    expected: { kind: 'done', reason: 'installed editor 2.4.1', note: { state: 'installed', exitCode: 0, output: 'the output', effect: { kind: 'installed', dir } } },
  },
  {
    name: 'the installer failed: recorded every time, with exit code and output, until a new serial',
    situation: ready({
      record: { phase: 'failed', serial: 4, reason: 'install exited with code 7' },
      last: { step: 'install', dir, outcome: ran('failed', 7, 'exited with code 7') },
    }),
    expected: {
      kind: 'failed',
      reason: 'install exited with code 7',
      note: { state: 'failed', reason: 'install exited with code 7', output: 'the output', exitCode: 7, retry: 'new-serial' },
    },
  },
  {
    name: 'the installer was killed by its timeout: no exit code',
    situation: ready({ last: { step: 'install', dir, outcome: ran('killed', undefined, 'timed out after 60000 ms') } }),
    expected: {
      kind: 'failed',
      reason: 'install timed out after 60000 ms',
      note: { state: 'failed', reason: 'install timed out after 60000 ms', output: 'the output', retry: 'new-serial' },
    },
  },
  // Uninstall.
  {
    name: 'uninstall of what Ferry did not install and detect cannot find: uninstalled, nothing run',
    situation: sit({ action: uninstallAction() }),
    expected: {
      kind: 'done',
      reason: 'editor 2.4.1 is not installed by Ferry on this host',
      note: { state: 'uninstalled', reason: 'editor 2.4.1 is not installed by Ferry on this host' },
    },
  },
  {
    name: 'uninstall, install window closed: waits',
    situation: sit({ action: uninstallAction({ installWindows: later }), installed: { dir }, installedFolder: 'fresh' }),
    expected: {
      kind: 'wait',
      why: 'install-window',
      reason: `install window opens at ${later[0]!.start}`,
      until: later[0]!.start,
      note: { state: 'waiting', reason: `install window opens at ${later[0]!.start}` },
    },
  },
  {
    name: 'uninstall left to detect, which found nothing before: stays not-applicable outside the window',
    situation: sit({ action: uninstallAction({ detect: detectCmd, installWindows: later }), record: { phase: 'not-applicable', serial: 5, reason: notFound } }),
    expected: { kind: 'skip', why: 'not-applicable', reason: notFound },
  },
  {
    name: 'uninstall of what Ferry installed, unpacked in this boot: run the uninstaller there',
    situation: sit({ action: uninstallAction(), installed: { dir: oldDir }, installedFolder: 'fresh' }),
    expected: { kind: 'uninstall', spec: uninstallCmd, dir: oldDir, note: { state: 'uninstalling', dir: oldDir } },
  },
  {
    name: 'uninstall after a restart, artifact kept: unpack again',
    situation: sit({ action: uninstallAction(), installed: { dir: oldDir }, installedFolder: 'stale', content: 'verified' }),
    expected: { kind: 'unpack' },
  },
  {
    name: 'uninstall after a restart, artifact kept from an earlier boot: verify it first',
    situation: sit({ action: uninstallAction(), installed: { dir: oldDir }, installedFolder: 'stale', content: 'unverified' }),
    expected: { kind: 'verify' },
  },
  {
    name: 'uninstall after a restart, unpacked again: run the fresh uninstaller',
    situation: sit({ action: uninstallAction(), installed: { dir: oldDir }, installedFolder: 'stale', content: 'verified', unpacked: dir }),
    expected: { kind: 'uninstall', spec: uninstallCmd, dir, note: { state: 'uninstalling', dir } },
  },
  {
    name: 'uninstall after a restart, no artifact kept: the old folder is all there is',
    situation: sit({ action: uninstallAction(), installed: { dir: oldDir }, installedFolder: 'stale' }),
    expected: { kind: 'uninstall', spec: uninstallCmd, dir: oldDir, note: { state: 'uninstalling', dir: oldDir } },
  },
  {
    name: 'uninstall whose folder is gone: download (outside the distribution window too)',
    situation: sit({ action: uninstallAction({ distribute: { multicast: false, wake: false, windows: later } }), installed: { dir: oldDir }, installedFolder: 'missing' }),
    expected: { kind: 'download', honourWindow: false, note: { state: 'downloading', bytesDone: 0 } },
  },
  {
    name: 'uninstall left to detect: run detect in the unpacked folder',
    situation: sit({ action: uninstallAction({ status: 'unknown', detect: detectCmd }), content: 'verified', unpacked: dir }),
    expected: { kind: 'detect', spec: detectCmd, dir },
  },
  {
    name: 'detect found it: uninstall',
    situation: detectedUninstall({ detected: true }),
    expected: { kind: 'uninstall', spec: uninstallCmd, dir, note: { state: 'uninstalling', dir } },
  },
  {
    name: 'detect did not find it: not-applicable, nothing uninstalled',
    situation: detectedUninstall({ last: { step: 'detect', outcome: ran('failed', 1, 'exited with code 1') } }),
    expected: notApplicable(notFound),
  },
  {
    name: 'detect cannot run: failed with its reason (it cannot tell)',
    situation: detectedUninstall({ last: { step: 'detect', outcome: ran('not-run', 127, 'command not found: sh') } }),
    expected: {
      kind: 'failed',
      reason: 'detect command not found: sh',
      note: { state: 'failed', reason: 'detect command not found: sh', output: 'the output', exitCode: 127, retry: 'new-serial' },
    },
  },
  {
    name: 'no uninstall command: failed',
    situation: sit({ action: uninstallAction({ uninstall: undefined }), installed: { dir }, installedFolder: 'fresh' }),
    expected: { kind: 'failed', reason: 'editor 2.4.1 has no uninstall command', note: { state: 'failed', reason: 'editor 2.4.1 has no uninstall command', retry: 'new-serial' } },
  },
  {
    name: 'the uninstaller succeeded: uninstalled, Ferry forgets the package',
    situation: sit({ action: uninstallAction(), installed: { dir }, installedFolder: 'fresh', last: { step: 'uninstall', outcome: ran('succeeded', 0) } }),
    expected: { kind: 'done', reason: 'uninstalled editor 2.4.1', note: { state: 'uninstalled', exitCode: 0, output: 'the output', effect: { kind: 'uninstalled' } } },
  },
  {
    name: 'the uninstaller failed',
    situation: sit({ action: uninstallAction(), installed: { dir }, installedFolder: 'fresh', last: { step: 'uninstall', outcome: ran('failed', 2, 'exited with code 2') } }),
    expected: {
      kind: 'failed',
      reason: 'uninstall exited with code 2',
      note: { state: 'failed', reason: 'uninstall exited with code 2', output: 'the output', exitCode: 2, retry: 'new-serial' },
    },
  },
];

describe('agent/runner/decide: the next step of one action', () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(decide(c.situation)).to.deep.equal(c.expected);
    });
  }
});

describe('agent/runner/pause: why a transfer stops at the next segment boundary', () => {
  const pauseCases: { name: string; args: Parameters<typeof pauseWhy>; expected: ReturnType<typeof pauseWhy> }[] = [
    { name: 'nothing: go on', args: [action(), false, now, true], expected: undefined },
    { name: 'the agent stops', args: [action({ suspended: true }), true, now, true], expected: 'stopping' },
    { name: 'the action left the plan', args: [undefined, false, now, true], expected: 'left-plan' },
    { name: 'the deployment is suspended', args: [action({ suspended: true }), false, now, true], expected: 'suspended' },
    { name: 'the distribution window closed', args: [action({ distribute: { multicast: false, wake: false, windows: later } }), false, now, true], expected: 'window' },
    {
      name: 'the window does not count for an uninstall fetch',
      args: [action({ distribute: { multicast: false, wake: false, windows: later } }), false, now, false],
      expected: undefined,
    },
  ];
  for (const c of pauseCases) {
    it(c.name, () => {
      expect(pauseWhy(...c.args)).to.deep.equal(c.expected);
    });
  }
});
