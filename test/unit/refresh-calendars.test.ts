/**
 * `refreshCalendars` (src/activities/calendars.ts): the list is written with the time it was
 * requested; Cronofy refusing it (4xx) leaves the calendars alone without failing the caller (a
 * full sync must go on), while an outage fails it so the activity is retried.
 */
import { describe, expect, it, vi } from 'vitest';
import { refreshCalendars } from '../../src/activities/calendars.js';
import type { AccountAuth } from '../../src/cronofy/client.js';
import { CronofyClientError, CronofyServerError } from '../../src/cronofy/errors.js';
import type { CronofyCalendar } from '../../src/cronofy/types.js';

const auth = {} as AccountAuth;
const at = new Date('2026-05-01T10:00:00Z');
const listed = [{ calendar_id: 'cal_1' } as CronofyCalendar];

function deps() {
  return { calendars: { refresh: vi.fn(async () => ({ listed: 1, superseded: 0 })) }, now: () => at };
}

describe('refreshCalendars', () => {
  it('writes what List Calendars answered, stamped with when it was asked', async () => {
    const d = deps();
    const r = await refreshCalendars(d, 'acc', { listCalendars: async () => listed }, auth);
    expect(r).toEqual({ outcome: 'refreshed', listed: 1, superseded: 0 });
    expect(d.calendars.refresh).toHaveBeenCalledWith('acc', listed, at);
  });

  it('a 4xx is reported as refused and writes nothing', async () => {
    const d = deps();
    const refusing = async (): Promise<CronofyCalendar[]> => {
      throw new CronofyClientError({ method: 'GET', path: '/v1/calendars', status: 403 });
    };
    expect(await refreshCalendars(d, 'acc', { listCalendars: refusing }, auth)).toEqual({
      outcome: 'refused',
      status: 403,
    });
    expect(d.calendars.refresh).not.toHaveBeenCalled();
  });

  it('an outage fails the caller, and a cancelled caller writes nothing', async () => {
    const d = deps();
    const down = async (): Promise<CronofyCalendar[]> => {
      throw new CronofyServerError({ method: 'GET', path: '/v1/calendars', status: 503 });
    };
    await expect(refreshCalendars(d, 'acc', { listCalendars: down }, auth)).rejects.toBeInstanceOf(
      CronofyServerError,
    );
    const cancelled = () => {
      throw new Error('cancelled');
    };
    await expect(
      refreshCalendars({ ...d, stillRunning: cancelled }, 'acc', { listCalendars: async () => listed }, auth),
    ).rejects.toThrow('cancelled');
    expect(d.calendars.refresh).not.toHaveBeenCalled();
  });
});
