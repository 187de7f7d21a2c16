/**
 * Issue 16, Calendars: the `calendars` collection on the whole service (real Temporal and MongoDB
 * servers, the simulator as Cronofy). Registration's full sync lists the calendars with the fields
 * Cronofy returns (unknown ones under `extra`); a calendar the user deletes is marked deleted at
 * the next full sync, whether Cronofy lists it `calendar_deleted: true` or no longer lists it,
 * while its events stay whatever Read Events says of them; a profile push refreshes the list
 * without a full sync; a purge removes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimAccount } from '../../src/simulator/index.js';
import { eventually, type Stack, startStack } from '../support/stack.js';

const DAY = 86_400_000;
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
type Json = Record<string, unknown>;

describe('calendars', () => {
  let stack: Stack;
  let account: SimAccount;
  let id: string;

  beforeAll(async () => {
    stack = await startStack({ sim: { rateLimit: false } });
    account = stack.sim.createAccount({ calendarIds: ['cal_work', 'cal_home', 'cal_trip'] });
    id = account.accountId;
  });
  afterAll(async () => {
    await stack?.close();
  });

  const calendars = async (query = ''): Promise<Json[]> => {
    const res = await stack.admin('GET', `/accounts/${id}/calendars${query}`);
    expect(res.status).toBe(200);
    return (res.body as { calendars: Json[] }).calendars;
  };
  const fullSync = async () => {
    const res = await stack.admin('POST', `/accounts/${id}/sync?wait=true`, { mode: 'full' });
    expect(res.status).toBe(200);
  };
  const eventOf = (eventUid: string) => stack.db.collection('events').findOne({ accountId: id, eventUid });
  const addEvent = (calendarId: string, summary: string) => {
    const start = Date.now() + 2 * DAY;
    return stack.sim.upsertEvent(
      id,
      { calendar_id: calendarId, summary, start: iso(start), end: iso(start + 3_600_000) },
      { notify: false },
    );
  };

  it('are listed after registration with the fields Cronofy returns, unknown ones in extra', async () => {
    addEvent('cal_home', 'dentist');
    const res = await stack.admin('POST', '/accounts', {
      accountId: id,
      accessToken: account.accessToken,
      refreshToken: account.refreshToken,
    });
    expect(res.status).toBe(201);
    await eventually(
      () => stack.db.collection('sync_runs').findOne({ accountId: id, kind: 'full', outcome: 'succeeded' }),
      20_000,
      'initial full sync',
    );
    const listed = await calendars();
    expect(listed.map((c) => c.calendarId)).toEqual(['cal_home', 'cal_trip', 'cal_work']);
    expect(listed.find((c) => c.calendarId === 'cal_work')).toEqual({
      accountId: id,
      calendarId: 'cal_work',
      name: 'Calendar',
      profileId: `pro_${id}`,
      profileName: `${id}@example.com`,
      providerName: 'google',
      readOnly: false,
      primary: true,
      deleted: false,
      deletedAt: null,
      listed: true,
      color: null,
      permissionLevel: 'unrestricted',
      extra: { calendar_integrated_conferencing_available: false, calendar_attachments_available: false },
      createdAt: expect.any(String),
      refreshedAt: expect.any(String),
    });
    expect(listed.find((c) => c.calendarId === 'cal_home')).toMatchObject({
      name: 'Calendar 2',
      primary: false,
    });
  });

  it('a deleted calendar is kept, marked deleted at the next full sync; its events are left to Read Events', async () => {
    const trip = addEvent('cal_trip', 'flight');
    const home = await eventually(
      async () =>
        (await stack.db.collection('events').findOne({ accountId: id, summary: 'dentist' })) ?? undefined,
      20_000,
      'the home event',
    );
    // Cronofy shows a deleted calendar either way: still listed with `calendar_deleted`, or gone.
    stack.sim.changeCalendar(id, 'cal_home', { deleted: true });
    stack.sim.changeCalendar(id, 'cal_trip', { unlisted: true });
    stack.sim.changeCalendar(id, 'cal_work', { name: 'Work' });
    await fullSync();

    expect((await calendars()).map((c) => [c.calendarId, c.name])).toEqual([['cal_work', 'Work']]);
    const all = await calendars('?includeDeleted=true');
    const byId = new Map(all.map((c) => [c.calendarId, c]));
    expect(byId.get('cal_home')).toMatchObject({
      deleted: true,
      listed: true,
      deletedAt: expect.any(String),
    });
    expect(byId.get('cal_trip')).toMatchObject({
      deleted: true,
      listed: false,
      deletedAt: expect.any(String),
    });
    // The simulator still returns their events live (Cronofy documents nothing else), so they stay.
    expect(await eventOf(home.eventUid as string)).toMatchObject({ calendarId: 'cal_home', deleted: false });
    expect(await eventOf(trip.event_uid)).toMatchObject({ calendarId: 'cal_trip', deleted: false });

    // The next full sync keeps when they were first found deleted; an event Cronofy then returns
    // deleted is a tombstone like any other.
    stack.sim.deleteEvent(id, home.eventUid as string, { notify: false });
    await fullSync();
    const again = new Map((await calendars('?includeDeleted=true')).map((c) => [c.calendarId, c]));
    expect(again.get('cal_home')?.deletedAt).toBe(byId.get('cal_home')?.deletedAt);
    expect(again.get('cal_trip')?.deletedAt).toBe(byId.get('cal_trip')?.deletedAt);
    expect(await eventOf(home.eventUid as string)).toMatchObject({ deleted: true });
    expect(await eventOf(trip.event_uid)).toMatchObject({ deleted: false });
  });

  it('a profile push refreshes them without a full sync', async () => {
    const fullSyncs = () => stack.db.collection('sync_runs').countDocuments({ accountId: id, kind: 'full' });
    const before = await fullSyncs();
    // Undeleted and renamed: the calendar comes back live, without its old deletedAt.
    stack.sim.changeCalendar(id, 'cal_home', { deleted: false, name: 'Home' });
    stack.sim.disconnectProfile(id);
    const home = await eventually(
      async () => (await calendars()).find((c) => c.calendarId === 'cal_home'),
      20_000,
      'cal_home refreshed on the profile push',
    );
    expect(home).toMatchObject({ name: 'Home', deleted: false, deletedAt: null, listed: true });
    expect(await fullSyncs()).toBe(before);
  });

  it('a purge removes them', async () => {
    expect(await stack.db.collection('calendars').countDocuments({ accountId: id })).toBe(3);
    const res = await stack.admin('DELETE', `/accounts/${id}?purge=true`);
    expect(res.status).toBe(202);
    await eventually(
      async () => (await stack.admin('GET', `/accounts/${id}`)).status === 404,
      20_000,
      'account purged',
    );
    expect(await stack.db.collection('calendars').countDocuments({ accountId: id })).toBe(0);
  });
});
