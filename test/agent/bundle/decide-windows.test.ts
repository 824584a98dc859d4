/** `ignoreWindows` (bundle apply: the operator is the window): decide's steps with closed windows, with and without it. */
import { expect } from 'chai';
import { decide } from '../../../agent/runner/decide.js';
import type { Situation } from '../../../agent/runner/situation.js';
import type { Step } from '../../../agent/runner/step.js';
import { action as editorAction, at, dir, installCmd, sit as editorSituation, uninstallCmd, windowWait } from '../runner/decide-fixtures.js';
import type { PlanAction } from '../../../core/plan/types.js';

const later = [{ start: at(120), end: at(180) }];
const inventory = { host: 'h', facts: {}, labels: {}, software: [] };

function action(op: 'install' | 'uninstall'): PlanAction {
  return editorAction({ op, distribute: { multicast: false, wake: false, windows: later, notBefore: at(60) }, installWindows: later });
}

function sit(op: 'install' | 'uninstall', content: 'missing' | 'verified', ignoreWindows: boolean): Situation {
  return editorSituation({
    action: action(op),
    content,
    inventory,
    ...(content === 'verified' ? { unpacked: dir } : {}),
    ...(op === 'uninstall' ? { installed: { dir }, installedFolder: 'fresh' as const } : {}),
    ...(ignoreWindows ? { ignoreWindows: true } : {}),
  });
}

const cases: { name: string; situation: Situation; expected: Step }[] = [
  {
    name: 'closed distribution window: waits',
    situation: sit('install', 'missing', false),
    expected: windowWait(at(120), 0),
  },
  {
    name: 'closed distribution window, windows ignored: fetches without honouring it',
    situation: sit('install', 'missing', true),
    expected: { kind: 'download', honourWindow: false, note: { state: 'downloading', bytesDone: 0 } },
  },
  {
    name: 'closed install window: waits',
    situation: sit('install', 'verified', false),
    expected: {
      kind: 'wait',
      why: 'install-window',
      reason: `downloaded; install window opens at ${at(120)}`,
      until: at(120),
      note: { state: 'waiting', reason: `downloaded; install window opens at ${at(120)}` },
    },
  },
  {
    name: 'closed install window, windows ignored: installs',
    situation: sit('install', 'verified', true),
    expected: { kind: 'install', spec: installCmd, dir, note: { state: 'installing', dir } },
  },
  {
    name: 'uninstall, closed install window, windows ignored: uninstalls',
    situation: sit('uninstall', 'verified', true),
    expected: { kind: 'uninstall', spec: uninstallCmd, dir, note: { state: 'uninstalling', dir } },
  },
];

describe('agent/runner/decide with ignoreWindows (bundle apply)', () => {
  for (const c of cases) it(c.name, () => expect(decide(c.situation)).to.deep.equal(c.expected));
});
