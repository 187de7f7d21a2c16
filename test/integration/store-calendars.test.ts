/**
 * `CalendarsRepo` on the real MongoDB-protocol server: a refresh upserts what Cronofy listed and
 * marks the rest deleted (kept, with the time it was first found so); overlapping refreshes keep
 * the list that was requested last, whatever order their writes land in.
 */
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CronofyCalendar } from '../../src/cronofy/types.js';
import { CalendarsRepo } from '../../src/store/calendars-repo.js';
import { collections, ensureIndexes } from '../../src/store/db.js';
import { testMongoUri, uniqueName } from '../support/env.js';

let client: MongoClient;
let db: Db;
let repo: CalendarsRepo;

beforeAll(async () => {
  client = await MongoClient.connect(testMongoUri());
  db = client.db(uniqueName('db'));
  await ensureIndexes(db);
  repo = new CalendarsRepo(collections(db).calendars);
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
});

const cal = (calendarId: string, over: Partial<CronofyCalendar> = {}): CronofyCalendar => ({
  calendar_id: calendarId,
  calendar_name: calendarId,
  calendar_readonly: false,
  calendar_deleted: false,
  calendar_primary: false,
  provider_name: 'google',
  profile_id: 'pro_1',
  profile_name: 'someone@example.com',
  ...over,
});
const t = (minute: number) => new Date(Date.UTC(2026, 4, 1, 10, minute));

describe('CalendarsRepo', () => {
  it('upserts the listed calendars and marks the missing ones deleted, keeping the first deletedAt', async () => {
    const a = 'acc-refresh';
    await repo.refresh(
      a,
      [cal('c1', { calendar_color: '#fff', 'odd.key': 1, $bad: 2, novel: { x: 1 } }), cal('c2')],
      t(0),
    );
    await repo.refresh(a, [cal('c1', { calendar_deleted: true })], t(1));
    await repo.refresh(a, [cal('c1', { calendar_deleted: true })], t(2));

    const [c1, c2] = await repo.list(a, { includeDeleted: true });
    expect(c1).toMatchObject({
      calendarId: 'c1',
      color: null,
      deleted: true,
      listed: true,
      deletedAt: t(1),
      createdAt: t(0),
      refreshedAt: t(2),
    });
    expect(c2).toMatchObject({
      calendarId: 'c2',
      deleted: true,
      listed: false,
      deletedAt: t(1),
      refreshedAt: t(2),
    });
    expect(await repo.list(a)).toEqual([]);

    // Listed again, live: no longer deleted, no deletedAt; unknown fields kept, unstorable keys not.
    await repo.refresh(a, [cal('c2', { novel: { x: 1 }, 'odd.key': 1, $bad: 2 })], t(3));
    const [back] = await repo.list(a);
    expect(back).toMatchObject({
      calendarId: 'c2',
      deleted: false,
      listed: true,
      extra: { novel: { x: 1 } },
    });
    expect(back).not.toHaveProperty('deletedAt');
    expect(Object.keys(back?.extra ?? {})).toEqual(['novel']);
  });

  it('an older list written after a newer one changes nothing', async () => {
    const a = 'acc-order';
    await repo.refresh(a, [cal('c1'), cal('c2')], t(3));
    // The newer list (requested at t(5)) renamed c1 and no longer has c2.
    await repo.refresh(a, [cal('c1', { calendar_name: 'new' })], t(5));
    // Requested at t(4), between the two, and written last: both its writes are older news.
    const late = await repo.refresh(a, [cal('c1', { calendar_name: 'old' }), cal('c2')], t(4));
    // How many skipped writes the server reports varies (FerretDB v1 ends the batch at the first).
    expect(late.superseded).toBeGreaterThan(0);
    const stored = await repo.list(a, { includeDeleted: true });
    expect(stored.map((c) => [c.calendarId, c.name, c.deleted])).toEqual([
      ['c1', 'new', false],
      ['c2', 'c2', true],
    ]);
  });

  it('deleteAccount removes only that account', async () => {
    await repo.refresh('acc-purge', [cal('c1'), cal('c2')], t(0));
    await repo.refresh('acc-keep', [cal('c1')], t(0));
    expect(await repo.deleteAccount('acc-purge')).toBe(2);
    expect(await repo.list('acc-purge', { includeDeleted: true })).toEqual([]);
    expect(await repo.list('acc-keep')).toHaveLength(1);
  });
});
