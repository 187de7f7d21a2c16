/** `withTimeout`: the one bound on a call's time (receiver hand-off, admin Temporal calls, readiness). */
import { describe, expect, it, vi } from 'vitest';
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
    // Fake timers: a cold first call whose synchronous part takes 200 ms (of fake time) before it
    // returns its promise. The clock must already run during that part: the 150 ms bound is then
    // over when the call returns, with no more time passing (a clock started only when the promise
    // came back would need 150 ms more).
    vi.useFakeTimers();
    try {
      const busy = () => {
        vi.advanceTimersByTime(200);
        return never();
      };
      let outcome: unknown;
      withTimeout(busy, 150, fail).then(
        () => undefined,
        (err: unknown) => {
          outcome = err;
        },
      );
      await vi.advanceTimersByTimeAsync(0);
      expect(outcome).toBeInstanceOf(TimeoutError);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a function that throws synchronously rejects with its error', async () => {
    const sync = (): Promise<never> => {
      throw new Error('sync');
    };
    await expect(withTimeout(sync, 20, fail)).rejects.toThrow('sync');
  });
});
