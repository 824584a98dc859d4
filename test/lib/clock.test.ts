import { expect } from 'chai';
import { manualClock, systemClock } from '../../lib/clock.js';

describe('lib/clock', () => {
  it('manualClock moves only when told to, and records sleeps', async () => {
    const c = manualClock('2026-12-04T00:00:00Z');
    const t0 = c.now();
    await c.sleep(1500);
    c.advance(500);
    expect([c.now() - t0, c.sleeps]).to.deep.equal([2000, [1500]]);
    c.set(0);
    expect(c.now()).to.equal(0);
  });

  it('systemClock.sleep rejects with the abort reason', async () => {
    const ac = new AbortController();
    const p = systemClock.sleep(60_000, ac.signal);
    ac.abort(new Error('stop'));
    const err = await p.then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.equal('stop');
  });
});
