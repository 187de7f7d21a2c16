/**
 * `GET /accounts/:accountId/changes` through `app.inject()` with fakes: the bearer check, an
 * unknown account, cursor and limit validation, an expired cursor as 410, and a change's shape
 * (the event as the events list shows it, dates as strings). test/integration/change-feed.test.ts
 * covers the feed itself on the real server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CursorExpiredError, type FeedChange } from '../../src/store/change-feed.js';
import { accountInfo, call, type Fakes, fakeAdminApp } from './fakes.js';

let f: Fakes;
afterEach(async () => {
  await f?.close();
});

const AT = new Date('2026-05-01T10:00:00Z');

const change: FeedChange = {
  seq: 7,
  op: 'delete',
  eventUid: 'evt_1',
  calendarId: 'cal_1',
  changedAt: AT,
  event: {
    accountId: 'user-1',
    calendarId: 'cal_1',
    eventUid: 'evt_1',
    eventId: null,
    summary: 'Gone',
    description: null,
    location: null,
    start: '2026-05-02T09:00:00Z',
    end: '2026-05-02T10:00:00Z',
    startAt: new Date('2026-05-02T09:00:00Z'),
    endAt: new Date('2026-05-02T10:00:00Z'),
    allDay: false,
    deleted: true,
    participationStatus: null,
    attendees: null,
    organizer: null,
    recurring: false,
    seriesIdentifier: null,
    status: null,
    transparency: null,
    createdAt: null,
    updatedAt: AT,
    syncedAt: AT,
    extra: {},
  },
};

describe('GET /accounts/:accountId/changes', () => {
  it('needs the admin bearer, and calls nothing without it', async () => {
    f = await fakeAdminApp();
    f.stored.set('user-1', accountInfo('user-1'));
    const res = await call(f.app, 'GET', '/accounts/user-1/changes', { auth: 'Bearer wrong' });
    expect(res.status).toBe(401);
    expect(f.calls()).toBe(0);
  });

  it('answers 404 for an account that is not registered', async () => {
    f = await fakeAdminApp();
    const res = await call(f.app, 'GET', '/accounts/nobody/changes');
    expect(res.status).toBe(404);
    expect(f.changes.read).not.toHaveBeenCalled();
  });

  it('refuses a malformed cursor or limit before reading', async () => {
    f = await fakeAdminApp();
    f.stored.set('user-1', accountInfo('user-1'));
    for (const q of ['after=abc', 'after=-1', 'limit=0', 'limit=1001', 'since=1']) {
      const res = await call(f.app, 'GET', `/accounts/user-1/changes?${q}`);
      expect(res.status, q).toBe(400);
    }
    expect(f.changes.read).not.toHaveBeenCalled();
  });

  it('passes cursor and limit to the feed and answers its page, the event as the events list shows it', async () => {
    f = await fakeAdminApp();
    f.stored.set('user-1', accountInfo('user-1'));
    f.changes.read.mockResolvedValueOnce({ changes: [change], nextCursor: '7', hasMore: true });
    const res = await call(f.app, 'GET', '/accounts/user-1/changes?after=6&limit=1');
    expect(res.status).toBe(200);
    expect(f.changes.read).toHaveBeenCalledWith('user-1', '6', 1);
    expect(res.body).toEqual({
      changes: [
        {
          ...change,
          changedAt: AT.toISOString(),
          event: {
            ...change.event,
            startAt: '2026-05-02T09:00:00.000Z',
            endAt: '2026-05-02T10:00:00.000Z',
            updatedAt: AT.toISOString(),
            syncedAt: AT.toISOString(),
          },
        },
      ],
      nextCursor: '7',
      hasMore: true,
    });
  });

  it('answers 410 cursor_expired for a cursor behind the retention', async () => {
    f = await fakeAdminApp();
    f.stored.set('user-1', accountInfo('user-1'));
    f.changes.read.mockRejectedValueOnce(new CursorExpiredError('start again from the beginning'));
    const res = await call(f.app, 'GET', '/accounts/user-1/changes?after=3');
    expect(res.status).toBe(410);
    expect(res.body).toEqual({ error: 'cursor_expired', message: 'start again from the beginning' });
  });
});
