/**
 * `events` on the real MongoDB-protocol server (FerretDB or mongod): the write rules of
 * EventsRepo (idempotent, ordered by Cronofy's `updated`, tombstones, full-sync reconciliation)
 * and the read side (range overlap, filters, keyset pagination).
 */
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CronofyEvent } from '../../src/cronofy/types.js';
import { collections, ensureIndexes } from '../../src/store/db.js';
import { type EventsListParams, EventsReader, type PublicEvent } from '../../src/store/events-query.js';
import { EventsRepo } from '../../src/store/events-repo.js';
import { testMongoUri, uniqueName } from '../support/env.js';

let client: MongoClient;
let db: Db;
let repo: EventsRepo;
let reader: EventsReader;
let events: ReturnType<typeof collections>['events'];

beforeAll(async () => {
  client = await MongoClient.connect(testMongoUri());
  db = client.db(uniqueName('db'));
  await ensureIndexes(db);
  events = collections(db).events;
  repo = new EventsRepo(events);
  reader = new EventsReader(events);
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
});

let n = 0;
const acct = () => `acc-${++n}`;
const T = (iso: string) => new Date(iso);

function ev(uid: string, start: string, over: Partial<CronofyEvent> = {}): CronofyEvent {
  const s = new Date(start);
  return {
    calendar_id: 'cal_work',
    event_uid: uid,
    summary: `Event ${uid}`,
    start: start.replace('.000Z', 'Z'),
    end: new Date(s.getTime() + 3_600_000).toISOString().replace('.000Z', 'Z'),
    deleted: false,
    created: '2026-04-01T00:00:00Z',
    updated: '2026-04-01T10:00:00Z',
    ...over,
  };
}

const get = (accountId: string, eventUid: string) => events.findOne({ accountId, eventUid });

/** Every page of a query, following `nextCursor`. */
async function allPages(p: EventsListParams): Promise<PublicEvent[][]> {
  const pages: PublicEvent[][] = [];
  let cursor: string | undefined;
  do {
    const page = await reader.list({ ...p, cursor });
    pages.push(page.events);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return pages;
}

describe('EventsRepo writes', () => {
  it('an idempotent re-sync writes nothing: upserted 0, syncedAt unchanged', async () => {
    const a = acct();
    const page = [
      ev('e1', '2026-05-04T09:00:00Z'),
      ev('e2', '2026-05-05T09:00:00Z'),
      ev('e3', '2026-05-06T09:00:00Z'),
    ];
    const t1 = T('2026-05-01T00:00:00Z');
    expect(await repo.writePage(a, page, t1)).toEqual({ upserted: 3, deleted: 0, unchanged: 0 });
    // The same events again, fields in another order (Cronofy does not promise an order).
    const reordered = page.map((e) => Object.fromEntries(Object.entries(e).reverse()) as CronofyEvent);
    expect(await repo.writePage(a, reordered, T('2026-05-01T00:05:00Z'))).toEqual({
      upserted: 0,
      deleted: 0,
      unchanged: 3,
    });
    const docs = await events.find({ accountId: a }).toArray();
    expect(docs).toHaveLength(3);
    for (const d of docs) expect(d.syncedAt).toEqual(t1);
  });

  it('an out-of-order older update is ignored; a newer one applies', async () => {
    const a = acct();
    const v2 = ev('e1', '2026-05-04T09:00:00Z', { summary: 'v2', updated: '2026-04-02T10:00:00Z' });
    await repo.writePage(a, [v2], T('2026-05-01T00:00:00Z'));
    const v1 = ev('e1', '2026-05-04T08:00:00Z', { summary: 'v1', updated: '2026-04-01T10:00:00Z' });
    expect(await repo.writePage(a, [v1], T('2026-05-01T00:01:00Z'))).toMatchObject({
      upserted: 0,
      unchanged: 1,
    });
    expect(await get(a, 'e1')).toMatchObject({
      summary: 'v2',
      updatedAt: T('2026-04-02T10:00:00Z'),
      startAt: T('2026-05-04T09:00:00Z'),
    });

    const v3 = ev('e1', '2026-05-04T11:00:00Z', { summary: 'v3', updated: '2026-04-03T10:00:00Z' });
    const t3 = T('2026-05-01T00:02:00Z');
    expect(await repo.writePage(a, [v3], t3)).toMatchObject({ upserted: 1, unchanged: 0 });
    expect(await get(a, 'e1')).toMatchObject({
      summary: 'v3',
      startAt: T('2026-05-04T11:00:00Z'),
      updatedAt: T('2026-04-03T10:00:00Z'),
      syncedAt: t3,
    });
  });

  it('a full sync applies what Cronofy returns, even when its `updated` went backwards', async () => {
    // An undelete or a provider re-import can give an event an `updated` older than the copy we
    // hold. Incremental syncs keep the ordering guard; the full sync is the repair and must win.
    const a = acct();
    const newer = ev('e1', '2026-05-04T09:00:00Z', {
      summary: 'before re-import',
      updated: '2026-04-02T10:00:00Z',
    });
    await repo.writePage(a, [newer], T('2026-05-01T00:00:00Z'));
    const reimported = ev('e1', '2026-05-04T10:00:00Z', {
      summary: 'after re-import',
      updated: '2026-04-01T10:00:00Z',
    });
    const full = T('2026-05-01T01:00:00Z');
    expect(await repo.writePage(a, [reimported], full, { fullSyncStartedAt: full })).toMatchObject({
      upserted: 1,
      unchanged: 0,
    });
    expect(await get(a, 'e1')).toMatchObject({
      summary: 'after re-import',
      updatedAt: T('2026-04-01T10:00:00Z'),
      startAt: T('2026-05-04T10:00:00Z'),
    });
  });

  it('a deletion becomes a tombstone that keeps the last known fields', async () => {
    const a = acct();
    const live = ev('e1', '2026-05-04', {
      end: '2026-05-05',
      summary: 'Offsite',
      description: 'All hands',
      location: { description: 'Lisbon' },
      attendees: [{ email: 'a@example.com', status: 'accepted' }],
      meeting_url: 'https://meet.example.com/x',
    });
    await repo.writePage(a, [live], T('2026-05-01T00:00:00Z'));
    // Cronofy may strip a deleted event down to its identity.
    const stripped = {
      calendar_id: 'cal_work',
      event_uid: 'e1',
      deleted: true,
      updated: '2026-04-05T00:00:00Z',
      color_hint: 'red',
    } as unknown as CronofyEvent;
    const t2 = T('2026-05-02T00:00:00Z');
    expect(await repo.writePage(a, [stripped], t2)).toEqual({ upserted: 1, deleted: 1, unchanged: 0 });
    const doc = await get(a, 'e1');
    expect(doc).toMatchObject({
      deleted: true,
      summary: 'Offsite',
      description: 'All hands',
      location: { description: 'Lisbon' },
      attendees: [{ email: 'a@example.com', status: 'accepted' }],
      start: '2026-05-04',
      startAt: T('2026-05-04T00:00:00Z'),
      allDay: true,
      updatedAt: T('2026-04-05T00:00:00Z'),
      syncedAt: t2,
      extra: { meeting_url: 'https://meet.example.com/x', color_hint: 'red' },
    });
    // Replaying the live version (older `updated`) does not bring it back.
    expect(await repo.writePage(a, [live], T('2026-05-03T00:00:00Z'))).toMatchObject({ upserted: 0 });
    expect((await get(a, 'e1'))?.deleted).toBe(true);
  });

  it('keeps fields Cronofy adds under `extra` (but never unstorable keys)', async () => {
    const a = acct();
    const e = ev('e1', '2026-05-04T09:00:00Z', {
      conferencing: { provider_description: 'Zoom', join_url: 'https://zoom.example/j/1' },
      event_private: true,
      $where: 'x',
      'a.b': 1,
    });
    await repo.writePage(a, [e], T('2026-05-01T00:00:00Z'));
    const doc = await get(a, 'e1');
    expect(doc?.extra).toEqual({
      conferencing: { provider_description: 'Zoom', join_url: 'https://zoom.example/j/1' },
      event_private: true,
    });
  });

  it('two writers inserting the same new event concurrently: one document, no error', async () => {
    const a = acct();
    const e = ev('e1', '2026-05-04T09:00:00Z');
    const results = await Promise.all([
      repo.writePage(a, [e], T('2026-05-01T00:00:00Z')),
      repo.writePage(a, [e], T('2026-05-01T00:00:00Z')),
    ]);
    expect(results.map((r) => r.upserted + r.unchanged)).toEqual([1, 1]);
    expect(await events.countDocuments({ accountId: a })).toBe(1);
  });

  it('with the versions read once per sync (`known`), pages apply the same rules and keep the map current', async () => {
    const a = acct();
    await repo.writePage(
      a,
      [ev('old', '2026-05-04T09:00:00Z'), ev('same', '2026-05-05T09:00:00Z')],
      T('2026-05-01T00:00:00Z'),
    );
    const known = await repo.storedVersions(a);
    expect([...known.keys()].sort()).toEqual(['old', 'same']);

    const t = T('2026-05-02T00:00:00Z');
    // Page 1: one unchanged, one changed, one new.
    expect(
      await repo.writePage(
        a,
        [
          ev('same', '2026-05-05T09:00:00Z'),
          ev('old', '2026-05-04T10:00:00Z', { updated: '2026-04-02T10:00:00Z' }),
          ev('new', '2026-05-06T09:00:00Z', { updated: '2026-04-02T10:00:00Z' }),
        ],
        t,
        { known },
      ),
    ).toEqual({ upserted: 2, deleted: 0, unchanged: 1 });
    expect(known.size).toBe(3);
    // Page 2 repeats the event inserted on page 1, changed again: an update, not a duplicate insert.
    expect(
      await repo.writePage(
        a,
        [ev('new', '2026-05-06T11:00:00Z', { updated: '2026-04-02T11:00:00Z', summary: 'Moved' })],
        t,
        { known },
      ),
    ).toEqual({ upserted: 1, deleted: 0, unchanged: 0 });
    expect(await get(a, 'new')).toMatchObject({ summary: 'Moved', startAt: T('2026-05-06T11:00:00Z') });
    expect((await get(a, 'old'))?.startAt).toEqual(T('2026-05-04T10:00:00Z'));
    // The map now says what is stored: reading it again gives the same versions.
    expect(await repo.storedVersions(a)).toEqual(known);
    expect(await events.countDocuments({ accountId: a })).toBe(3);
  });

  it('storedVersions of some events only, and of no other account', async () => {
    const a = acct();
    const b = acct();
    await repo.writePage(
      a,
      [ev('x', '2026-05-04T09:00:00Z'), ev('y', '2026-05-05T09:00:00Z')],
      T('2026-05-01T00:00:00Z'),
    );
    await repo.writePage(b, [ev('x', '2026-05-04T09:00:00Z')], T('2026-05-01T00:00:00Z'));
    expect([...(await repo.storedVersions(a, ['y', 'zz'])).keys()]).toEqual(['y']);
    expect([...(await repo.storedVersions(b)).keys()]).toEqual(['x']);
  });

  it('tombstoneUnseen narrowed to candidates tombstones only those, and still applies its filter', async () => {
    const a = acct();
    await repo.writePage(
      a,
      [ev('c1', '2026-05-10T09:00:00Z'), ev('c2', '2026-05-11T09:00:00Z'), ev('far', '2026-09-11T09:00:00Z')],
      T('2026-05-01T00:00:00Z'),
    );
    const fullStart = T('2026-05-02T00:00:00Z');
    const now = T('2026-05-02T00:02:00Z');
    const range = [T('2026-05-01T00:00:00Z'), T('2026-08-01T00:00:00Z')] as const;
    // c2 was not seen either, but is not a candidate; `far` is a candidate outside the range.
    expect(await repo.tombstoneUnseen(a, ...range, fullStart, now, { onlyAmong: ['c1', 'far'] })).toBe(1);
    const docs = new Map((await events.find({ accountId: a }).toArray()).map((d) => [d.eventUid, d.deleted]));
    expect(Object.fromEntries(docs)).toEqual({ c1: true, c2: false, far: false });
  });

  it('full sync: tombstoneUnseen marks unseen events in range, leaves seen, out-of-range and newer ones', async () => {
    const a = acct();
    const before = T('2026-05-01T00:00:00Z');
    await repo.writePage(
      a,
      [
        ev('seen-unchanged', '2026-05-10T09:00:00Z'),
        ev('seen-changed', '2026-05-11T09:00:00Z'),
        ev('gone', '2026-05-12T09:00:00Z', { summary: 'Gone from Cronofy' }),
        ev('out-of-range', '2026-09-01T09:00:00Z'),
      ],
      before,
    );
    const fullStart = T('2026-05-02T00:00:00Z');
    // Changed in Cronofy while the full sync was reading: an incremental sync wrote it meanwhile.
    await repo.writePage(a, [ev('changed-meanwhile', '2026-05-13T09:00:00Z')], T('2026-05-02T00:00:30Z'));
    // The full sync's pages: one event unchanged (nothing written but it was seen), one changed.
    const pageRes = await repo.writePage(
      a,
      [
        ev('seen-unchanged', '2026-05-10T09:00:00Z'),
        ev('seen-changed', '2026-05-11T10:00:00Z', { updated: '2026-04-30T00:00:00Z' }),
      ],
      T('2026-05-02T00:01:00Z'),
      { fullSyncStartedAt: fullStart },
    );
    expect(pageRes).toEqual({ upserted: 1, deleted: 0, unchanged: 1 });

    const now = T('2026-05-02T00:02:00Z');
    const n = await repo.tombstoneUnseen(
      a,
      T('2026-05-01T00:00:00Z'),
      T('2026-08-01T00:00:00Z'),
      fullStart,
      now,
    );
    expect(n).toBe(1);
    const docs = new Map((await events.find({ accountId: a }).toArray()).map((d) => [d.eventUid, d]));
    expect(docs.get('gone')).toMatchObject({
      deleted: true,
      reconciledDeletedAt: now,
      syncedAt: now,
      summary: 'Gone from Cronofy',
    });
    for (const uid of ['seen-unchanged', 'seen-changed', 'out-of-range', 'changed-meanwhile']) {
      expect(docs.get(uid)?.deleted, uid).toBe(false);
    }
    // Narrowed to candidates: an empty list means the sync saw everything stored; nothing is asked.
    expect(
      await repo.tombstoneUnseen(a, T('2026-05-01T00:00:00Z'), T('2026-08-01T00:00:00Z'), fullStart, now, {
        onlyAmong: [],
      }),
    ).toBe(0);
    // A second pass finds nothing more.
    expect(
      await repo.tombstoneUnseen(a, T('2026-05-01T00:00:00Z'), T('2026-08-01T00:00:00Z'), fullStart, now),
    ).toBe(0);

    // Cronofy returns the event again, unchanged (a calendar put back in the filter, say): it is
    // live again rather than stuck as a tombstone because its content hash still matches.
    const back = await repo.writePage(
      a,
      [ev('gone', '2026-05-12T09:00:00Z', { summary: 'Gone from Cronofy' })],
      T('2026-05-03T00:00:00Z'),
    );
    expect(back).toMatchObject({ upserted: 1 });
    const revived = await get(a, 'gone');
    expect(revived?.deleted).toBe(false);
    expect(revived?.reconciledDeletedAt).toBeUndefined();
  });
});

describe('EventsReader', () => {
  it('selects by range overlap [from, to), calendar and tombstones', async () => {
    const a = acct();
    await repo.writePage(
      a,
      [
        ev('spans-from', '2026-05-31T23:00:00Z', { end: '2026-06-01T01:00:00Z' }),
        ev('ends-at-from', '2026-05-31T23:00:00Z', { end: '2026-06-01T00:00:00Z' }),
        ev('inside', '2026-06-02T09:00:00Z'),
        ev('all-day', '2026-06-03', { end: '2026-06-04' }),
        ev('other-cal', '2026-06-04T09:00:00Z', { calendar_id: 'cal_home' }),
        ev('starts-at-to', '2026-06-05T00:00:00Z'),
        ev('deleted', '2026-06-02T12:00:00Z', { deleted: true }),
      ],
      T('2026-05-01T00:00:00Z'),
    );
    const range = { accountId: a, from: T('2026-06-01T00:00:00Z'), to: T('2026-06-05T00:00:00Z') };
    const uids = async (p: EventsListParams) => (await reader.list(p)).events.map((e) => e.eventUid);
    expect(await uids(range)).toEqual(['spans-from', 'inside', 'all-day', 'other-cal']);
    expect(await uids({ ...range, includeDeleted: true })).toEqual([
      'spans-from',
      'inside',
      'deleted',
      'all-day',
      'other-cal',
    ]);
    expect(await uids({ ...range, calendarId: 'cal_home' })).toEqual(['other-cal']);
    expect(await uids({ accountId: a, from: T('2026-06-04T12:00:00Z') })).toEqual(['starts-at-to']);
    expect(await uids({ accountId: a, to: T('2026-06-01T00:00:00Z') })).toEqual([
      'ends-at-from',
      'spans-from',
    ]);

    const [first] = (await reader.list(range)).events;
    // Readers see the document without our bookkeeping.
    expect(first).not.toHaveProperty('_id');
    expect(first).not.toHaveProperty('contentHash');
    expect(first).toMatchObject({
      accountId: a,
      calendarId: 'cal_work',
      eventUid: 'spans-from',
      deleted: false,
    });
  });

  it('pages in (startAt, eventUid) order and stays stable under concurrent inserts and deletes', async () => {
    const a = acct();
    const day = (d: number, h = 9) =>
      `2026-06-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`;
    // Two events share a start: eventUid breaks the tie.
    const initial = [
      ev('b', day(1)),
      ev('a', day(1)),
      ev('c', day(2)),
      ev('d', day(3)),
      ev('e', day(4)),
      ev('f', day(5)),
      ev('g', day(6)),
    ];
    await repo.writePage(a, initial, T('2026-05-01T00:00:00Z'));
    const p = { accountId: a, limit: 3 };
    const page1 = await reader.list(p);
    expect(page1.events.map((e) => e.eventUid)).toEqual(['a', 'b', 'c']);
    expect(page1.nextCursor).toEqual(expect.any(String));

    // Meanwhile: inserts before the cursor, at its exact start (both sides of its uid) and after it,
    // and a deletion of an event not yet read.
    await repo.writePage(
      a,
      [
        ev('before', day(1, 8)),
        ev('bb', day(2)), // same start as `c`, sorts before it: already passed
        ev('cc', day(2)), // same start, sorts after it: on the next page
        ev('late', day(7)),
        ev('e', day(4), { deleted: true, updated: '2026-04-02T00:00:00Z' }),
      ],
      T('2026-05-01T00:01:00Z'),
    );
    const rest: string[][] = [];
    let cursor = page1.nextCursor ?? undefined;
    while (cursor) {
      const page = await reader.list({ ...p, cursor });
      rest.push(page.events.map((e) => e.eventUid));
      cursor = page.nextCursor ?? undefined;
    }
    // Nothing read twice, nothing skipped, inserts behind the cursor not replayed.
    expect(rest).toEqual([
      ['cc', 'd', 'f'],
      ['g', 'late'],
    ]);

    // A fresh listing sees everything once, in order.
    const all = (await allPages(p)).flat().map((e) => e.eventUid);
    expect(all).toEqual(['before', 'a', 'b', 'bb', 'c', 'cc', 'd', 'f', 'g', 'late']);
  });

  it('pages through events without a parsable start (they sort first)', async () => {
    const a = acct();
    await repo.writePage(
      a,
      [
        ev('n2', '2026-06-01T09:00:00Z', { start: 'not a time' }),
        ev('n1', '2026-06-01T09:00:00Z', { start: 'garbage' }),
        ev('dated', '2026-06-01T09:00:00Z'),
      ],
      T('2026-05-01T00:00:00Z'),
    );
    const pages = await allPages({ accountId: a, limit: 1 });
    expect(pages.map((pg) => pg.map((e) => e.eventUid))).toEqual([['n1'], ['n2'], ['dated']]);
  });

  it('rejects a cursor used with other filters', async () => {
    const a = acct();
    await repo.writePage(
      a,
      [ev('x', '2026-06-01T09:00:00Z'), ev('y', '2026-06-02T09:00:00Z')],
      T('2026-05-01T00:00:00Z'),
    );
    const { nextCursor } = await reader.list({ accountId: a, limit: 1 });
    await expect(
      reader.list({ accountId: a, limit: 1, includeDeleted: true, cursor: nextCursor ?? '' }),
    ).rejects.toThrow(/other filters/);
  });

  it('is served by the account indexes', async () => {
    const names = (await events.listIndexes().toArray()).map((i) => i.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'account_event_uid',
        'account_start',
        'account_calendar_start',
        'account_synced',
      ]),
    );
  });
});
