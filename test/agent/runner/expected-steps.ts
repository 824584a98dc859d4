import type { Step } from '../../../agent/runner/step.js';

/** The step `decide` gives while a distribution window (opening at `until`) is still closed. */
export function windowWait(until: string, bytesDone: number): Step {
  const reason = `distribution window opens at ${until}`;
  return { kind: 'wait', why: 'distribution-window', reason, until, note: { state: 'waiting', reason, bytesDone } };
}
