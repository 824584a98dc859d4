/**
 * The agent's pure decision (DESIGN §2–§6): from one action's situation — the plan's word, its
 * journal record, what is kept on this host, a fresh inventory, the time, and the step just
 * carried out — the next step, with its reason. No I/O and no clock: the executor observes and
 * acts, this function only chooses. A step that ends the action for this pass carries the state
 * to record (none when the journal already says exactly that).
 */
import type { PlanAction } from '../../core/plan/types.js';
import type { CommandOutcome } from './installer.js';
import { checkFailedReason, conditionsVerdict } from './conditions.js';
import type { LastStep, Local, Situation } from './situation.js';
import type { Note, Step } from './step.js';
import { closedReason, windowState, type WindowState } from './windows.js';

/** The reason a download failure is recorded with (the controller shows it). */
const downloadFailedPrefix = 'download failed: ';

export function decide(s: Situation): Step {
  if (s.last) {
    const after = afterStep(s, s.last);
    if (after) return after;
  }
  const a = s.action;
  if (Date.parse(s.expiresAt) <= s.now) {
    return { kind: 'wait', why: 'plan-expired', reason: `plan ${s.serial} expired at ${s.expiresAt}; nothing new starts until a fresh plan arrives` };
  }
  if (s.stopping) return { kind: 'wait', why: 'stopping', reason: 'the agent is stopping' };
  if (s.record?.phase === 'installing' || s.record?.phase === 'uninstalling') {
    // Recovery at start-up resolves these; an install still running from before a crash is never started twice.
    return { kind: 'wait', why: 'interrupted', reason: `an interrupted ${s.record.phase === 'installing' ? 'install' : 'uninstall'} is not resolved yet` };
  }
  if (a.op === 'install' && s.installed) {
    const reason = `${a.package} ${a.version} is already installed by Ferry`;
    return { kind: 'done', reason, ...(s.record?.phase !== 'installed' ? { note: { state: 'installed', reason } } : {}) };
  }
  if (a.op === 'uninstall' && !s.installed && s.record?.phase === 'uninstalled') {
    return { kind: 'done', reason: `${a.package} ${a.version} is uninstalled` };
  }
  switch (a.status) {
    case 'not-applicable':
      return skip(s, 'not-applicable', { state: 'not-applicable', reason: a.reason ?? 'not applicable' });
    case 'blocked':
      return skip(s, 'blocked', { state: 'waiting', reason: `blocked: ${a.reason ?? 'by the controller'}` });
    case 'waiting':
      return wait(s, 'controller-waiting', { state: 'waiting', reason: a.reason ?? 'waiting' });
    default:
      break;
  }
  if (a.suspended) {
    if (!s.local) return { kind: 'observe' };
    return wait(s, 'suspended', { state: 'suspended', reason: `deployment ${a.deployment} is suspended`, bytesDone: s.local.partialBytes });
  }
  const blocker = s.blockers.find((b) => !b.done);
  if (blocker) return wait(s, 'blocked-by', { state: 'waiting', reason: `waiting for ${blocker.id}` });
  if (s.record?.phase === 'failed' && s.record.serial === s.serial && s.record.retry !== 'next-pass') {
    return { kind: 'failed', reason: `failed under plan serial ${s.serial}: ${s.record.reason ?? 'no reason recorded'}; tried again under a new serial` };
  }
  if (!s.local) return { kind: 'observe' };
  return a.op === 'install' ? install(s, s.local) : uninstall(s, s.local);
}

function install(s: Situation, local: Local): Step {
  const a = s.action;
  const early = conditionsVerdict(a.conditions, local.inventory);
  if (early.holds === false) return skip(s, 'not-applicable', { state: 'not-applicable', reason: early.reason });
  const content = ensureContent(s, local, !s.ignoreWindows);
  if (content) return content;
  if (!local.unpacked) return { kind: 'unpack' };
  const win = installWindow(s);
  if (!win.open) return wait(s, 'install-window', { state: 'waiting', reason: `downloaded; ${closedReason('install', win)}` }, win.opensAt);
  const late = conditionsVerdict(a.conditions, local.inventory, s.checksHeld);
  if (late.holds === false) return skip(s, 'not-applicable', { state: 'not-applicable', reason: late.reason });
  if (late.holds === 'check') return { kind: 'check', condition: late.condition, spec: late.spec, dir: local.unpacked };
  if (!a.install) return failed(s, { state: 'failed', reason: `${a.package} ${a.version} has no install command`, retry: 'new-serial' });
  return { kind: 'install', spec: a.install, dir: local.unpacked, note: { state: 'installing', dir: local.unpacked } };
}

function uninstall(s: Situation, local: Local): Step {
  const a = s.action;
  if (!s.installed && !a.detect) {
    return done(s, `${a.package} ${a.version} is not installed by Ferry on this host`, {
      state: 'uninstalled',
      reason: `${a.package} ${a.version} is not installed by Ferry on this host`,
    });
  }
  const win = installWindow(s);
  if (!win.open) {
    // What detect last found stands until the window opens again and detect runs once more.
    if (!s.installed && s.record?.phase === 'not-applicable' && s.record.reason === notFound(a)) {
      return { kind: 'skip', why: 'not-applicable', reason: notFound(a) };
    }
    return wait(s, 'install-window', { state: 'waiting', reason: closedReason('install', win) }, win.opensAt);
  }
  let dir: string;
  if (s.installed && local.installedFolder === 'fresh') dir = s.installed.dir;
  else if (s.installed && local.installedFolder === 'stale' && local.content === 'missing')
    dir = s.installed.dir; // all there is
  else {
    // Unpacked before a restart of the machine (a power cut may have emptied uninstall.sh), or
    // not unpacked at all: from the kept artifact, fetched first if need be (any time: the window is open).
    const content = ensureContent(s, local, false);
    if (content) return content;
    if (!local.unpacked) return { kind: 'unpack' };
    dir = local.unpacked;
  }
  // Not installed by Ferry (planned because the host reports it, or left `unknown` for detect to decide): uninstall only what detect finds.
  if (!s.installed && a.detect && !s.detected) return { kind: 'detect', spec: a.detect, dir };
  if (!a.uninstall) return failed(s, { state: 'failed', reason: `${a.package} ${a.version} has no uninstall command`, retry: 'new-serial' });
  return { kind: 'uninstall', spec: a.uninstall, dir, note: { state: 'uninstalling', dir } };
}

/** Whether the action's install window is open now (always, when windows do not apply). */
function installWindow(s: Situation): WindowState {
  return s.ignoreWindows ? { open: true } : windowState(s.action.installWindows, s.now);
}

/** The step that gets the artifact verified here, or undefined when it is. */
function ensureContent(s: Situation, local: Local, honourWindow: boolean): Step | undefined {
  if (local.content === 'verified') return undefined;
  if (local.content === 'unverified') return { kind: 'verify' };
  const a = s.action;
  if (honourWindow) {
    const win = windowState(a.distribute.windows, s.now, a.distribute.notBefore);
    if (!win.open) return wait(s, 'distribution-window', { state: 'waiting', reason: closedReason('distribution', win), bytesDone: local.partialBytes }, win.opensAt);
  }
  const before = local.partialBytes;
  return {
    kind: 'download',
    honourWindow,
    note: { state: 'downloading', bytesDone: before, ...(before > 0 ? { reason: `resuming at byte ${before} of ${a.artifact.size}` } : {}) },
  };
}

/** What the step just carried out means; undefined: go on deciding from the situation. */
function afterStep(s: Situation, last: LastStep): Step | undefined {
  const a = s.action;
  switch (last.step) {
    case 'download': {
      const o = last.outcome;
      if (o.kind === 'verified') {
        const seen = o.problems.map((p) => `${p.source}: ${p.message}`).join('; ');
        const from = seen ? `from ${o.source} after: ${seen}` : `from ${o.source}`;
        return { kind: 'report', note: { state: 'downloaded', bytesDone: a.artifact.size, reason: `sha256 verified; ${from}`.slice(0, 4000) } };
      }
      if (o.kind === 'paused') {
        const at = `paused at byte ${o.bytesDone} of ${a.artifact.size}`;
        if (last.why === 'suspended') return wait(s, 'suspended', { state: 'suspended', reason: `deployment ${a.deployment} is suspended; ${at}`, bytesDone: o.bytesDone });
        if (last.why === 'window') return wait(s, 'distribution-window', { state: 'waiting', reason: `distribution window closed; ${at}`, bytesDone: o.bytesDone });
        return {
          kind: 'wait',
          why: 'download-paused',
          reason: `${last.why === 'left-plan' ? 'the action left the plan' : last.why === 'stopping' ? 'the agent is stopping' : 'aborted'}; ${at}`,
        };
      }
      return failed(s, { state: 'failed', reason: `${downloadFailedPrefix}${o.message}`.slice(0, 4000), bytesDone: o.bytesDone, retry: 'next-pass' });
    }
    case 'unpack':
      return last.outcome.ok ? undefined : failed(s, { state: 'failed', reason: last.outcome.reason, retry: 'new-serial' });
    case 'check': {
      const o = last.outcome;
      if (o.kind === 'succeeded') return undefined;
      const why = o.reason ?? `exited with code ${o.exitCode}`;
      return skip(s, 'not-applicable', { state: 'not-applicable', reason: checkFailedReason(last.condition, last.spec, why) });
    }
    case 'detect': {
      const o = last.outcome;
      if (o.kind === 'succeeded') return undefined;
      if (o.kind === 'failed') return skip(s, 'not-applicable', { state: 'not-applicable', reason: notFound(a) });
      return failed(s, commandFailed('detect', o), true); // detect itself is broken: it cannot tell
    }
    case 'install': {
      const o = last.outcome;
      if (o.kind === 'succeeded') {
        return {
          kind: 'done',
          reason: `installed ${a.package} ${a.version}`,
          note: { state: 'installed', exitCode: 0, output: o.output, effect: { kind: 'installed', dir: last.dir } },
        };
      }
      return failed(s, commandFailed('install', o), true);
    }
    case 'uninstall': {
      const o = last.outcome;
      if (o.kind === 'succeeded') {
        return { kind: 'done', reason: `uninstalled ${a.package} ${a.version}`, note: { state: 'uninstalled', exitCode: 0, output: o.output, effect: { kind: 'uninstalled' } } };
      }
      return failed(s, commandFailed('uninstall', o), true);
    }
  }
}

function notFound(a: PlanAction): string {
  return `detect does not find ${a.package} ${a.version} on this host; nothing to uninstall`;
}

function commandFailed(what: 'install' | 'uninstall' | 'detect', o: CommandOutcome): Note {
  return { state: 'failed', reason: `${what} ${o.reason ?? 'failed'}`, output: o.output, ...(o.exitCode !== undefined ? { exitCode: o.exitCode } : {}), retry: 'new-serial' };
}

/** `note`, unless the journal already says exactly that (same state and reason). */
function unlessRecorded(s: Situation, note: Note): { note?: Note } {
  return s.record && s.record.phase === note.state && s.record.reason === note.reason ? {} : { note };
}

function wait(s: Situation, why: Extract<Step, { kind: 'wait' }>['why'], note: Note, until?: string): Step {
  return { kind: 'wait', why, reason: note.reason ?? why, ...(until !== undefined ? { until } : {}), ...unlessRecorded(s, note) };
}

function skip(s: Situation, why: Extract<Step, { kind: 'skip' }>['why'], note: Note): Step {
  return { kind: 'skip', why, reason: note.reason ?? why, ...unlessRecorded(s, note) };
}

function done(s: Situation, reason: string, note: Note): Step {
  return { kind: 'done', reason, ...unlessRecorded(s, note) };
}

/** `always`: recorded even when the journal says the same (a program's failure is news every time it runs). */
function failed(s: Situation, note: Note, always = false): Step {
  return { kind: 'failed', reason: note.reason ?? 'failed', ...(always ? { note } : unlessRecorded(s, note)) };
}
