/**
 * Splitting the Cronofy budget between workers: the limiter's share, and the renewal loop that
 * keeps it at 1/N of the live workers (leases faked here; the MongoDB side is
 * test/integration/worker-leases.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/budget/rate-limiter.js';
import { startBudgetShare } from '../../src/budget/shares.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';

describe('RateLimiter.setShare', () => {
  it('admits limit × share calls per window (at least one), background keeping its reserve of that', () => {
    const t = 0;
    const l = new RateLimiter({ perSecond: 50, perMinute: 500, reserveFraction: 0.2, now: () => t });
    l.setShare(1 / 3);
    let urgent = 0;
    while (l.tryTake('urgent')) urgent++;
    expect(urgent).toBe(16); // floor(50 / 3)

    const b = new RateLimiter({ perSecond: 50, perMinute: 500, reserveFraction: 0.2, now: () => t });
    b.setShare(1 / 2);
    let background = 0;
    while (b.tryTake('background')) background++;
    expect(background).toBe(20); // 80 % of 25
    expect(b.tryTake('urgent')).toBe(true);

    const tiny = new RateLimiter({ perSecond: 2, perMinute: 10, reserveFraction: 0.2, now: () => t });
    tiny.setShare(1 / 10);
    expect(tiny.tryTake('background')).toBe(true);
    expect(tiny.tryTake('urgent')).toBe(false);
  });

  it('refuses a share outside (0, 1]', () => {
    const l = new RateLimiter({ perSecond: 50, perMinute: 500 });
    for (const bad of [0, -0.5, 1.5, Number.NaN]) expect(() => l.setShare(bad)).toThrow(RangeError);
  });
});

describe('startBudgetShare', () => {
  it('sets the share to 1/N on start and at every renewal, keeps it when a renewal fails, releases on stop', async () => {
    const counts: Array<number | Error> = [3, 2, new Error('MongoNetworkError'), 1];
    const shares: number[] = [];
    let released = 0;
    const metrics = createMetrics();
    const share = await startBudgetShare({
      leases: {
        renew: async () => {
          const next = counts.shift() ?? 1;
          if (next instanceof Error) throw next;
          return next;
        },
        release: async () => {
          released++;
        },
      },
      limiter: { setShare: (s) => shares.push(s) },
      intervalMs: 5,
      log: createLogger('silent'),
      metrics,
    });
    expect(shares).toEqual([1 / 3]);
    expect(share.workers()).toBe(3);
    await new Promise((r) => setTimeout(r, 60));
    await share.stop();
    // 3 → 2 → (failed: still 2) → 1, and 1 from then on.
    expect(shares.slice(0, 3)).toEqual([1 / 3, 1 / 2, 1]);
    expect(released).toBe(1);
    expect((await metrics.registry.getSingleMetricAsString('cronofy_rate_limit_workers')).trim()).toMatch(
      / 1$/,
    );
  });
});
