/** `withTimeout`: the one bound on a call's time (receiver hand-off, admin Temporal calls, readiness). */
import { describe, expect, it } from 'vitest';
import { TimeoutError, withTimeout } from '../../src/lib/timeout.js';

const never = () => new Promise<never>(() => undefined);
const resolveAfter = <T>(ms: number, v: T) => new Promise<T>((r) => setTimeout(() => r(v), ms));
const fail = () => {
  throw new TimeoutError('too slow');
};

describe('withTimeout', () => {
  it('settles like the work when it is in time', async () => {
    expect(await withTimeout(resolveAfter(5, 'done'), 1_000, fail)).toBe('done');
    await expect(withTimeout(Promise.reject(new Error('boom')), 1_000, fail)).rejects.toThrow('boom');
  });

  it("fails with what onTimeout throws, or answers onTimeout's fallback value", async () => {
    await expect(withTimeout(never(), 20, fail)).rejects.toBeInstanceOf(TimeoutError);
    expect(await withTimeout(never(), 20, () => false)).toBe(false);
  });

  it('swallows a late rejection of the work (no unhandled rejection after the timeout)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('late')), 30));
      expect(await withTimeout(late, 5, () => 'fallback')).toBe('fallback');
      await resolveAfter(60, null);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it("given a function, counts the work's synchronous part against the limit", async () => {
    const started = Date.now();
    const busy = () => {
      while (Date.now() - started < 200) {
        // a cold first call doing synchronous work before it returns its promise
      }
      return never();
    };
    await expect(withTimeout(busy, 150, fail)).rejects.toBeInstanceOf(TimeoutError);
    // Answered as soon as the synchronous part gave the timer a chance (~200 ms), not 150 ms after
    // it (~350 ms, a clock started when the promise came back).
    expect(Date.now() - started).toBeLessThan(300);
  });

  it('a function that throws synchronously rejects with its error', async () => {
    const sync = (): Promise<never> => {
      throw new Error('sync');
    };
    await expect(withTimeout(sync, 20, fail)).rejects.toThrow('sync');
  });
});
