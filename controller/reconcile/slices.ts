/**
 * Long work in slices: a pass at fleet scale (planning 100,000 hosts, hashing and signing their
 * plans) must not hold the event loop, or health checks, polls and reports wait behind it. Work
 * that pauses (a generator's `yield`, a loop's `maybeYield`) gives the event loop a turn once it
 * has run for `sliceMs` since the last turn.
 */

/** How long work runs before it lets the event loop have a turn. */
export const sliceMs = 20;

/** Lets the event loop have a turn (timers, I/O callbacks) before resolving. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Yields to the event loop at most every `sliceMs`. */
export class Slicer {
  private since = performance.now();

  /** Resolves at once, or after a turn of the event loop when the slice is used up. */
  async maybeYield(): Promise<void> {
    if (performance.now() - this.since < sliceMs) return;
    await turn();
    this.since = performance.now();
  }
}

/** Runs `steps` to the end, giving the event loop a turn at a pause once `sliceMs` has passed. */
export async function runInSlices<T>(steps: Generator<void, T>): Promise<T> {
  const slicer = new Slicer();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await slicer.maybeYield();
  }
}
