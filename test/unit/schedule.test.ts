import { describe, expect, it } from 'vitest';
import { readParams } from '../../src/activities/read-params.js';
import { fullSyncWindow, windowEdgeWindow } from '../../src/cronofy/window.js';
import {
  failureRetryDelay,
  jitterFraction,
  jitterOffset,
  nextFullSyncAt,
  nextSlot,
  nextWindowEdgeAt,
} from '../../src/workflows/schedule.js';

const WEEK = 7 * 86_400_000;

describe('schedule', () => {
  it('nextSlot returns the first grid point strictly after now', () => {
    expect(nextSlot(0, 100, 30)).toBe(30);
    expect(nextSlot(30, 100, 30)).toBe(130);
    expect(nextSlot(129, 100, 30)).toBe(130);
    expect(nextSlot(1_000_000, 100, 30)).toBe(1_000_030);
  });

  it('slots do not drift: an account syncs at the same offset every interval', () => {
    const id = 'acc_42';
    let t = Date.UTC(2026, 0, 1);
    const offsets = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const next = nextFullSyncAt(id, t, WEEK);
      expect(next).toBeGreaterThan(t);
      expect(next - t).toBeLessThanOrEqual(WEEK);
      offsets.add(next % WEEK);
      t = next + 123_456; // the sync ran a little late
    }
    expect(offsets.size).toBe(1);
  });

  it('jitter is deterministic and spreads accounts evenly over the interval', () => {
    expect(jitterFraction('a', 'full')).toBe(jitterFraction('a', 'full'));
    expect(jitterFraction('a', 'full')).not.toBe(jitterFraction('a', 'window-edge'));
    const buckets = new Array(7).fill(0);
    for (let i = 0; i < 7_000; i++)
      buckets[Math.floor(jitterOffset(`acc_${i}`, 'full', WEEK) / 86_400_000)] += 1;
    for (const b of buckets) {
      expect(b).toBeGreaterThan(850);
      expect(b).toBeLessThan(1_150);
    }
  });

  it('full and window-edge timers of one account are decorrelated', () => {
    const now = Date.UTC(2026, 5, 1);
    const same = Array.from({ length: 200 }, (_, i) => `x${i}`).filter(
      (id) => nextFullSyncAt(id, now, WEEK) === nextWindowEdgeAt(id, now, WEEK),
    );
    expect(same.length).toBeLessThan(3);
  });

  it('failure backoff doubles from a minute and caps at an hour', () => {
    expect(failureRetryDelay(1)).toBe(60_000);
    expect(failureRetryDelay(2)).toBe(120_000);
    expect(failureRetryDelay(20)).toBe(3_600_000);
  });

  it('windows: full is -42..+201 days, edge is +194..+201 days', () => {
    const now = Date.UTC(2026, 10, 23, 15, 30);
    expect(fullSyncWindow(now)).toMatchObject({ from: '2026-10-12', to: '2027-06-12' });
    expect(windowEdgeWindow(now)).toMatchObject({ from: '2027-06-05', to: '2027-06-12' });
  });

  it('window edge reads on from where the last full or window-edge read ended: no day is skipped', () => {
    // The last edge read (2026-11-23) covered up to 2027-06-12. This run is 8 days later (late past
    // midnight, or a WINDOW_EDGE_INTERVAL over 7 d): +194 alone would start at 2027-06-13.
    const late = Date.UTC(2026, 11, 1, 0, 30);
    expect(windowEdgeWindow(late, '2027-06-12')).toMatchObject({ from: '2027-06-12', to: '2027-06-20' });
    // Long ago (the account was disconnected for months): never before the start of the window.
    expect(windowEdgeWindow(late, '2026-01-01')).toMatchObject({ from: fullSyncWindow(late).from });
    // A full sync just read everything: the usual +194 band, which overlaps the previous one.
    expect(windowEdgeWindow(late, '2027-06-20')).toMatchObject({ from: '2027-06-13', to: '2027-06-20' });
  });

  it('the window-edge sync asks Cronofy for that band', () => {
    const late = new Date(Date.UTC(2026, 11, 1, 0, 30));
    const input = { accountId: 'a', kind: 'window_edge' as const, trigger: 'schedule' as const };
    expect(readParams({ ...input, windowReadTo: '2027-06-12' }, { calendarIds: null }, late)).toMatchObject({
      from: '2027-06-12',
      to: '2027-06-20',
    });
    expect(readParams(input, { calendarIds: null }, late)).toMatchObject({ from: '2027-06-13' });
  });
});
