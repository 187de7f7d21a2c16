/**
 * `pruneUnregisteredCalendars`, the end of every sync: when the registration no longer has a
 * calendar the sync read (a re-registration while it ran), or now has a filter where the sync read
 * every calendar, the events of the other calendars become tombstones; otherwise nothing is written.
 * It returns the registration it judged by, which the workflow prunes and backfills from.
 */
import { describe, expect, it, vi } from 'vitest';
import { pruneUnregisteredCalendars } from '../../src/activities/sync-events.js';

function deps(current: string[] | null | undefined) {
  return {
    events: { tombstoneOtherCalendars: vi.fn(async () => 3) },
    registeredCalendars: vi.fn(async () => current),
  };
}
const NOW = new Date('2026-11-30T10:00:00Z');
const run = (d: ReturnType<typeof deps>, read: string[] | undefined, stillRunning = () => undefined) =>
  pruneUnregisteredCalendars(d as never, 'acc', read, () => NOW, stillRunning);

describe('pruneUnregisteredCalendars', () => {
  it('tombstones the calendars removed while the sync read', async () => {
    const d = deps(['cal_a']);
    expect(await run(d, ['cal_a', 'cal_b'])).toEqual(['cal_a']);
    expect(d.events.tombstoneOtherCalendars).toHaveBeenCalledWith('acc', ['cal_a'], NOW);
  });

  it('tombstones outside a filter set while the sync read every calendar', async () => {
    const d = deps(['cal_a']);
    await run(d, undefined);
    expect(d.events.tombstoneOtherCalendars).toHaveBeenCalledWith('acc', ['cal_a'], NOW);
  });

  it('writes nothing when the registration still has every calendar read, has no filter, or is gone', async () => {
    for (const [current, read] of [
      [['cal_a', 'cal_b'], ['cal_a']],
      [['cal_a'], ['cal_a']],
      [null, ['cal_a', 'cal_b']],
      [undefined, ['cal_a']],
    ] as const) {
      const d = deps(current === null || current === undefined ? current : [...current]);
      expect(await run(d, [...read])).toEqual(
        current === null || current === undefined ? current : [...current],
      );
      expect(d.events.tombstoneOtherCalendars).not.toHaveBeenCalled();
    }
  });

  it('writes nothing once the attempt is cancelled', async () => {
    const d = deps(['cal_a']);
    const cancelled = () => {
      throw new Error('cancelled');
    };
    await expect(run(d, ['cal_a', 'cal_b'], cancelled)).rejects.toThrow('cancelled');
    expect(d.events.tombstoneOtherCalendars).not.toHaveBeenCalled();
  });
});
