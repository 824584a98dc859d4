/**
 * The one source of time for the controller, the agent and the CLI. Code that has a clock
 * never calls `Date.now()` or `new Date()`; tests pass `manualClock` to step time and to see
 * the waits a piece of code asked for.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now` and timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  sleep: (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
});

/** A clock whose time moves only when told to: `sleep` returns at once, advancing time by `ms` and recording it. */
export interface ManualClock extends Clock {
  /** Every wait asked for, in order. */
  readonly sleeps: readonly number[];
  /** Moves time forward by `ms`. */
  advance(ms: number): void;
  /** Sets the time. */
  set(at: number | Date | string): void;
}

/** A clock for tests and tools that replay time: starts at `start` and moves on `advance`, `set` or `sleep`. */
export function manualClock(start: number | Date | string = 0): ManualClock {
  let t = toMs(start);
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      t += Math.max(0, ms);
    },
    advance: (ms: number) => {
      t += ms;
    },
    set: (at) => {
      t = toMs(at);
    },
  };
}

function toMs(at: number | Date | string): number {
  if (typeof at === 'number') return at;
  return typeof at === 'string' ? Date.parse(at) : at.getTime();
}
