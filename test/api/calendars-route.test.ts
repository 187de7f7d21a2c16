/**
 * `GET /accounts/:accountId/calendars` through `app.inject()` with fakes: the bearer check, an
 * unknown account, query validation, and what a stored calendar looks like in the answer (dates
 * as strings, `deletedAt` null while live, deleted calendars only on request, `extra` kept).
 * test/integration/calendars.test.ts covers the same route on the real stack.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CalendarDoc } from '../../src/store/calendars-repo.js';
import { accountInfo, call, type Fakes, fakeAdminApp } from './fakes.js';

let f: Fakes;
afterEach(async () => {
  await f?.close();
});

const AT = new Date('2026-05-01T10:00:00Z');

function calendar(calendarId: string, over: Partial<CalendarDoc> = {}): CalendarDoc {
  return {
    accountId: 'user-1',
    calendarId,
    name: 'Work',
    profileId: 'pro_1',
    profileName: 'someone@example.com',
    providerName: 'google',
    readOnly: false,
    primary: true,
    deleted: false,
    listed: true,
    color: '#49BED8',
    permissionLevel: 'unrestricted',
    extra: { calendar_integrated_conferencing_available: true },
    createdAt: AT,
    refreshedAt: AT,
    ...over,
  };
}

describe('GET /accounts/:accountId/calendars', () => {
  it('needs the admin bearer, and calls nothing without it', async () => {
    f = await fakeAdminApp();
    f.stored.set('user-1', accountInfo('user-1'));
    const res = await call(f.app, 'GET', '/accounts/user-1/calendars', { auth: 'Bearer wrong' });
    expect(res.status).toBe(401);
    expect(f.calls()).toBe(0);
  });

  it('answers 404 for an account that is not registered', async () => {
    f = await fakeAdminApp();
    const res = await call(f.app, 'GET', '/accounts/nobody/calendars');
    expect(res).toMatchObject({ status: 404, body: { error: 'account_not_found' } });
    expect(f.calendars.list).not.toHaveBeenCalled();
  });

  it('refuses a bad account id, an unknown parameter and a non-boolean includeDeleted', async () => {
    f = await fakeAdminApp();
    f.stored.set('user-1', accountInfo('user-1'));
    for (const url of [
      '/accounts/.hidden/calendars',
      '/accounts/user-1/calendars?limit=5',
      '/accounts/user-1/calendars?includeDeleted=maybe',
    ]) {
      const res = await call(f.app, 'GET', url);
      expect(res.status, url).toBe(400);
    }
    expect(f.calendars.list).not.toHaveBeenCalled();
  });

  it('lists live calendars with their fields; deleted ones only with includeDeleted=true', async () => {
    f = await fakeAdminApp();
    f.stored.set('user-1', accountInfo('user-1'));
    const gone = new Date('2026-05-02T08:00:00Z');
    f.storedCalendars.push(
      calendar('cal_work'),
      calendar('cal_old', { name: 'Old', primary: false, deleted: true, listed: false, deletedAt: gone }),
      calendar('cal_other', { accountId: 'user-2' }),
    );

    const live = await call(f.app, 'GET', '/accounts/user-1/calendars');
    expect(live).toMatchObject({ status: 200 });
    expect(live.body).toEqual({
      calendars: [
        {
          accountId: 'user-1',
          calendarId: 'cal_work',
          name: 'Work',
          profileId: 'pro_1',
          profileName: 'someone@example.com',
          providerName: 'google',
          readOnly: false,
          primary: true,
          deleted: false,
          deletedAt: null,
          listed: true,
          color: '#49BED8',
          permissionLevel: 'unrestricted',
          extra: { calendar_integrated_conferencing_available: true },
          createdAt: AT.toISOString(),
          refreshedAt: AT.toISOString(),
        },
      ],
    });

    const all = await call(f.app, 'GET', '/accounts/user-1/calendars?includeDeleted=true');
    const calendars = all.body.calendars as Record<string, unknown>[];
    expect(calendars.map((c) => c.calendarId)).toEqual(['cal_work', 'cal_old']);
    expect(calendars[1]).toMatchObject({ deleted: true, listed: false, deletedAt: gone.toISOString() });
    expect(f.calendars.list).toHaveBeenLastCalledWith('user-1', { includeDeleted: true });
  });
});
