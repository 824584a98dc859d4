/** The controller's only source of time; tests pass a fixed or stepped clock. */
export interface Clock {
  now(): Date;
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({ now: () => new Date() });
