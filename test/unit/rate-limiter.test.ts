import { describe, expect, it, vi } from 'vitest';
import { RateLimiter } from '../../src/budget/rate-limiter.js';

function clock() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
  };
}

/** Cronofy's default budget (50/s, 500/min), no reserve, on a fake clock; `starts` records each call. */
function defaultBudget() {
  const c = clock();
  const l = new RateLimiter({
    perSecond: 50,
    perMinute: 500,
    reserveFraction: 0,
    now: c.now,
    sleep: c.sleep,
  });
  const starts: number[] = [];
  return {
    c,
    l,
    starts,
    async call() {
      await l.acquire('urgent');
      starts.push(c.now());
    },
  };
}

/** The most calls that started within any window of `ms` (a call at t leaves it at t + ms). */
function maxInWindow(starts: number[], ms: number): number {
  let max = 0;
  let lo = 0;
  for (let hi = 0; hi < starts.length; hi++) {
    while (starts[lo]! <= starts[hi]! - ms) lo++;
    max = Math.max(max, hi - lo + 1);
  }
  return max;
}

describe('RateLimiter', () => {
  it('allows a burst up to the per-second budget, then makes callers wait', () => {
    const c = clock();
    const l = new RateLimiter({ perSecond: 50, perMinute: 500, reserveFraction: 0, now: c.now });
    let taken = 0;
    while (l.tryTake('urgent')) taken++;
    expect(taken).toBe(50);
    // A sliding second: the next call may start when the burst's first call leaves the window.
    expect(l.delayFor('urgent')).toBe(1_000);
  });

  it('the per-minute budget caps sustained throughput at 500/min', async () => {
    const { starts, call } = defaultBudget();
    for (let i = 0; i < 1000; i++) await call();
    // 50 a second until 500 (0–9 s), then the minute is full until the first call leaves it at 60 s.
    expect(starts[499]).toBe(9_000);
    expect(starts[500]).toBe(60_000);
    expect(starts[999]).toBe(69_000);
    expect(maxInWindow(starts, 60_000)).toBe(500);
    expect(maxInWindow(starts, 1_000)).toBe(50);
  });

  it('never lets more than the budget through in any sliding minute, after a quiet spell either', async () => {
    // A token bucket of 500 refilled at 500/min would let 1,000 through in the minute after an
    // idle minute; Cronofy counts a sliding minute and answers the excess with 429.
    const { c, starts, call } = defaultBudget();
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 3_000; i++) {
      // Bursts and quiet spells: mostly back-to-back callers, sometimes a gap of up to 2 minutes.
      if (random() < 0.002) await c.sleep(Math.floor(random() * 120_000));
      await call();
    }
    expect(maxInWindow(starts, 60_000)).toBeLessThanOrEqual(500);
    expect(maxInWindow(starts, 1_000)).toBeLessThanOrEqual(50);
    // And the limiter is not needlessly strict: some minute was used in full.
    expect(maxInWindow(starts, 60_000)).toBeGreaterThanOrEqual(490);
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

/**
 * A clock whose sleeps resolve only when the test moves time on, so a caller can be caught
 * mid-wait: `advance(ms)` wakes every sleeper whose time has come.
 */
function manualClock() {
  let t = 0;
  const sleepers: Array<{ until: number; wake: () => void }> = [];
  return {
    now: () => t,
    sleep: (ms: number) =>
      new Promise<void>((wake) => {
        sleepers.push({ until: t + ms, wake });
      }),
    sleeping: () => sleepers.length,
    async advance(ms: number) {
      t += ms;
      const due = sleepers.filter((x) => x.until <= t);
      sleepers.splice(0, sleepers.length, ...sleepers.filter((x) => x.until > t));
      for (const s of due) s.wake();
      // Let woken (or aborted) callers run their next step.
      for (let i = 0; i < 10; i++) await Promise.resolve();
    },
  };
}

describe('acquire with a cancellation signal (a cancelled or timed-out activity)', () => {
  it('an already aborted signal rejects at once and takes no slot', async () => {
    const c = clock();
    const l = new RateLimiter({
      perSecond: 1,
      perMinute: 60,
      reserveFraction: 0,
      now: c.now,
      sleep: c.sleep,
    });
    const ac = new AbortController();
    const reason = new Error('activity cancelled');
    ac.abort(reason);
    await expect(l.acquire('urgent', ac.signal)).rejects.toBe(reason);
    // The one slot of this second is still free: the cancelled caller did not spend it.
    expect(await l.acquire('urgent')).toBe(0);
  });

  it('aborting during the wait rejects promptly, without taking the slot the caller waited for', async () => {
    const c = manualClock();
    const l = new RateLimiter({
      perSecond: 1,
      perMinute: 60,
      reserveFraction: 0,
      now: c.now,
      sleep: c.sleep,
    });
    expect(await l.acquire('urgent')).toBe(0); // the second's only slot
    const ac = new AbortController();
    const cancelled = l.acquire('urgent', ac.signal);
    cancelled.catch(() => undefined);
    const settled = vi.fn();
    void cancelled.then(settled, settled);
    await c.advance(0);
    expect(c.sleeping()).toBe(1); // waiting for the next second
    ac.abort(new Error('heartbeat timeout'));
    // Settles without any time passing: the injected sleep never resolves by itself.
    await c.advance(0);
    expect(settled).toHaveBeenCalledTimes(1);
    await expect(cancelled).rejects.toThrow('heartbeat timeout');

    // A caller arriving after the window has moved on gets the slot with no wait: nothing was
    // recorded for the cancelled caller (before, it would have woken and taken this slot).
    await c.advance(1_000);
    expect(l.delayFor('urgent')).toBe(0);
    expect(l.tryTake('urgent')).toBe(true);
    expect(l.waitedMs).toBe(0);
  });
});
