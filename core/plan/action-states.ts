/**
 * The action states (DESIGN §2) and the one order people read them in. The controller's API,
 * `ferry demo` and the dashboard (served this list as `/assets/states.js`) all take it from here.
 */

/** The states agents report, in the order an action moves through them. */
export const actionStates = Object.freeze([
  'pending',
  'waiting',
  'downloading',
  'downloaded',
  'installing',
  'installed',
  'uninstalled',
  'failed',
  'not-applicable',
  'suspended',
] as const);

/** A state an agent reports (DESIGN §2). */
export type ActionState = (typeof actionStates)[number];

/** A state shown to people: an agent's state, or `blocked` while the controller holds an action back. */
export type StatusState = ActionState | 'blocked';

/**
 * The order a reader scans states in — problems first, then progress, then settled — and so the
 * state that sums up a host with several actions in one deployment: the first listed it has.
 */
export const statusStateOrder: readonly StatusState[] = Object.freeze([
  'failed',
  'installing',
  'downloading',
  'downloaded',
  'waiting',
  'pending',
  'suspended',
  'blocked',
  'not-applicable',
  'uninstalled',
  'installed',
] as const);
