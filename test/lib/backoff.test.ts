import { expect } from 'chai';
import { Backoff, backoffDelay, parseRetryAfter } from '../../lib/backoff.js';

describe('lib/backoff', () => {
  const cases = [
    { name: 'first retry: up to base', retry: 0, random: 0.999, want: 999 },
    { name: 'third retry doubles twice', retry: 2, random: 0.5, want: 2000 },
    { name: 'capped at max', retry: 20, random: 0.999, want: 9990 },
    { name: 'floored at min', retry: 0, random: 0, want: 100 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(backoffDelay(c.retry, { baseMs: 1000, maxMs: 10_000, minMs: 100, random: () => c.random })).to.equal(c.want);
    });
  }

  it('Backoff counts failures, lets Retry-After win (capped), and resets', () => {
    const b = new Backoff({ baseMs: 1000, maxMs: 5000, random: () => 0.5 });
    expect([b.next(), b.next(), b.next(60_000), b.next(200), b.count]).to.deep.equal([500, 1000, 5000, 200, 4]);
    b.reset();
    expect([b.count, b.next()]).to.deep.equal([0, 500]);
  });

  it('parseRetryAfter reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-12-04T00:00:00Z');
    expect([parseRetryAfter('7', now), parseRetryAfter('Fri, 04 Dec 2026 00:00:30 GMT', now), parseRetryAfter('soon', now), parseRetryAfter(undefined, now)]).to.deep.equal([
      7000,
      30_000,
      undefined,
      undefined,
    ]);
  });
});
