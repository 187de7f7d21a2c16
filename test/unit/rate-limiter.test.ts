import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/lib/rate-limiter.js';

function clock() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
  };
}

describe('RateLimiter', () => {
  it('allows a burst up to the per-second budget, then makes callers wait', () => {
    const c = clock();
    const l = new RateLimiter({ perSecond: 50, perMinute: 500, reserveFraction: 0, now: c.now });
    let taken = 0;
    while (l.tryTake('urgent')) taken++;
    expect(taken).toBe(50);
    expect(l.delayFor('urgent')).toBe(20); // 1 token per 20 ms
  });

  it('the per-minute budget caps sustained throughput at 500/min', async () => {
    const c = clock();
    const l = new RateLimiter({
      perSecond: 50,
      perMinute: 500,
      reserveFraction: 0,
      now: c.now,
      sleep: c.sleep,
    });
    for (let i = 0; i < 1000; i++) await l.acquire('urgent');
    // 500 at once, then 500 more at 500/min: about a minute
    expect(c.now()).toBeGreaterThanOrEqual(59_000);
    expect(c.now()).toBeLessThanOrEqual(61_000);
  });

  it('background callers leave the reserve for urgent ones', () => {
    const c = clock();
    const l = new RateLimiter({ perSecond: 10, perMinute: 1000, reserveFraction: 0.2, now: c.now });
    let bg = 0;
    while (l.tryTake('background')) bg++;
    expect(bg).toBe(8);
    expect(l.tryTake('urgent')).toBe(true);
    expect(l.tryTake('urgent')).toBe(true);
    expect(l.tryTake('urgent')).toBe(false);
  });

  it('acquire records the time spent waiting', async () => {
    const c = clock();
    const l = new RateLimiter({
      perSecond: 1,
      perMinute: 60,
      reserveFraction: 0,
      now: c.now,
      sleep: c.sleep,
    });
    expect(await l.acquire('urgent')).toBe(0);
    expect(await l.acquire('urgent')).toBeGreaterThanOrEqual(1000);
    expect(l.waitedMs).toBeGreaterThanOrEqual(1000);
  });
});
