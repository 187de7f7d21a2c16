/**
 * The change feed on the real MongoDB-protocol server: entries for every kind of write, a consumer
 * that follows it from any cursor ends holding exactly what `events` holds (under concurrent
 * writers and flushes, and a write whose flush never ran), appends never leave a gap, a flush that
 * raced a newer write re-appends the newer version, retention and the 410.
 */
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CronofyEvent } from '../../src/cronofy/types.js';
import { createMetrics } from '../../src/metrics.js';
import { AccountUpdatesRepo } from '../../src/store/account-updates-repo.js';
import {
  ChangeFeed,
  CursorExpiredError,
  type FeedChange,
  type FeedPage,
} from '../../src/store/change-feed.js';
import { InvalidCursorError } from '../../src/store/cursor.js';
import { collections, ensureIndexes, markEventsWithoutFeedEntry } from '../../src/store/db.js';
import { type PublicEvent, publicEvent } from '../../src/store/events-query.js';
import { EventsRepo } from '../../src/store/events-repo.js';
import { startRetention } from '../../src/store/retention.js';
import { testMongoUri, uniqueName } from '../support/env.js';

let client: MongoClient;
let db: Db;
let c: ReturnType<typeof collections>;
let feed: ChangeFeed;
let repo: EventsRepo;

beforeAll(async () => {
  client = await MongoClient.connect(testMongoUri());
  db = client.db(uniqueName('db'));
  await ensureIndexes(db);
  c = collections(db);
  feed = new ChangeFeed(c);
  repo = new EventsRepo(c.events, feed);
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
});

let n = 0;
const acct = () => `feed-${++n}`;

function ev(uid: string, over: Partial<CronofyEvent> = {}): CronofyEvent {
  return {
    calendar_id: 'cal_work',
    event_uid: uid,
    summary: `Event ${uid}`,
    start: '2026-12-01T09:00:00Z',
    end: '2026-12-01T10:00:00Z',
    deleted: false,
    created: '2026-11-01T00:00:00Z',
    updated: '2026-11-01T10:00:00Z',
    ...over,
  };
}

/** Follows the feed from `after` to its current end, as a consumer would. */
async function follow(accountId: string, after?: string, limit = 7) {
  const seen: FeedChange[] = [];
  let cursor = after;
  for (;;) {
    const page = await feed.read(accountId, cursor, limit);
    seen.push(...page.changes);
    cursor = page.nextCursor;
    if (!page.hasMore) return { seen, cursor };
  }
}

/** A consumer's copy: each event's latest version, applied in seq order. */
function apply(copy: Map<string, PublicEvent>, changes: readonly FeedChange[]) {
  for (const ch of changes) copy.set(ch.eventUid, ch.event);
}

async function stored(accountId: string): Promise<Map<string, PublicEvent>> {
  const docs = await c.events.find({ accountId }).toArray();
  return new Map(docs.map((d) => [d.eventUid, publicEvent(d)]));
}

/** The consumer's copy equals `events` (tombstones included) and every version matches. */
async function expectCopyEqualsEvents(accountId: string, copy: Map<string, PublicEvent>) {
  const want = await stored(accountId);
  expect([...copy.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [uid, e] of want) expect(copy.get(uid), uid).toEqual(e);
}

describe('entries', () => {
  it('records inserts, edits and deletions in write order, an event changed again reappearing later with its latest version', async () => {
    const a = acct();
    // A consumer following along sees each version as it comes.
    const along: FeedChange[] = [];
    let at: string | undefined;
    const step = async () => {
      const r = await follow(a, at);
      along.push(...r.seen);
      at = r.cursor;
    };
    await repo.writePage(a, [ev('e1'), ev('e2')], new Date('2026-11-30T10:00:00Z'));
    await step();
    await repo.writePage(
      a,
      [ev('e1', { summary: 'moved', updated: '2026-11-01T11:00:00Z' })],
      new Date('2026-11-30T10:01:00Z'),
    );
    await step();
    await repo.writePage(
      a,
      [ev('e2', { deleted: true, updated: '2026-11-01T12:00:00Z' })],
      new Date('2026-11-30T10:02:00Z'),
    );
    await step();
    expect(along.map((ch) => [ch.seq, ch.op, ch.eventUid, ch.event.summary])).toEqual([
      [1, 'upsert', 'e1', 'Event e1'],
      [2, 'upsert', 'e2', 'Event e2'],
      [3, 'upsert', 'e1', 'moved'],
      [4, 'delete', 'e2', 'Event e2'],
    ]);
    expect(along[3]?.event.deleted).toBe(true);
    expect(along[3]?.changedAt).toEqual(new Date('2026-11-30T10:02:00Z'));
    expect(at).toBe('4');

    // Read later, from the beginning: the same entries, each event as it is now.
    const { seen, cursor } = await follow(a);
    expect(seen.map((ch) => [ch.seq, ch.op, ch.eventUid, ch.event.summary])).toEqual([
      [1, 'upsert', 'e1', 'moved'],
      [2, 'delete', 'e2', 'Event e2'],
      [3, 'upsert', 'e1', 'moved'],
      [4, 'delete', 'e2', 'Event e2'],
    ]);
    expect(cursor).toBe('4');
    // The entry's event is the public document: no bookkeeping fields.
    expect(Object.keys(seen[0]?.event ?? {})).not.toContain('contentHash');
    expect(Object.keys(seen[0]?.event ?? {})).not.toContain('feedToken');
    const copy = new Map<string, PublicEvent>();
    apply(copy, seen);
    await expectCopyEqualsEvents(a, copy);
    // Unchanged re-reads (idempotent re-syncs) add nothing.
    await repo.writePage(a, [ev('e1', { summary: 'moved', updated: '2026-11-01T11:00:00Z' })], new Date());
    expect((await feed.read(a, cursor)).changes).toEqual([]);
  });

  it('records reconciliation tombstones and removed calendars as deletions', async () => {
    const a = acct();
    await repo.writePage(
      a,
      [ev('k1'), ev('k2', { calendar_id: 'cal_other' })],
      new Date('2026-11-30T10:00:00Z'),
    );
    const { cursor } = await follow(a);
    expect(await repo.tombstoneOtherCalendars(a, ['cal_work'], new Date('2026-11-30T11:00:00Z'))).toBe(1);
    const n1 = await repo.tombstoneCandidates(
      a,
      ['k1'],
      new Date('2026-11-01T00:00:00Z'),
      new Date('2027-01-01T00:00:00Z'),
      new Date('2026-11-30T12:00:00Z'),
      new Date('2026-11-30T12:00:00Z'),
    );
    expect(n1).toBe(1);
    const { seen } = await follow(a, cursor);
    expect(seen.map((ch) => [ch.op, ch.eventUid])).toEqual([
      ['delete', 'k2'],
      ['delete', 'k1'],
    ]);
  });

  it("counts appended entries and flushes in the worker's metrics", async () => {
    const metrics = createMetrics();
    const counted = new EventsRepo(c.events, new ChangeFeed(c, { metrics }));
    await counted.writePage(acct(), [ev('m1'), ev('m2'), ev('m3')], new Date());
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^cronofy_feed_changes_appended_total 3$/m);
    expect(text).toMatch(/^cronofy_feed_flush_seconds_count 1$/m);
  });

  it('a page of 150 changed events (one bulk update of 150 statements, and as many marks to clear) is written and fed', async () => {
    const a = acct();
    const uids = Array.from({ length: 150 }, (_, i) => `big-${i}`);
    await repo.writePage(
      a,
      uids.map((u) => ev(u)),
      new Date(),
    );
    await repo.writePage(
      a,
      uids.map((u) => ev(u, { summary: 'all changed', updated: '2026-11-01T11:00:00Z' })),
      new Date(),
    );
    const { seen } = await follow(a, undefined, 1000);
    expect(seen).toHaveLength(300);
    expect(seen.slice(150).every((ch) => ch.event.summary === 'all changed')).toBe(true);
  });

  it('refuses a malformed cursor', async () => {
    await expect(feed.read(acct(), 'abc')).rejects.toBeInstanceOf(InvalidCursorError);
  });
});

describe('no change is ever missed', () => {
  it('concurrent appenders take contiguous seqs, each keeping its own order', async () => {
    const a = acct();
    const writers = Array.from({ length: 8 }, (_, w) =>
      Array.from({ length: 15 }, (_, k) => ({
        accountId: a,
        op: 'upsert' as const,
        eventUid: `w${w}-${k}`,
        calendarId: 'cal',
        event: {} as PublicEvent,
        changedAt: new Date(),
      })),
    );
    const results = await Promise.all(writers.map((entries) => feed.append(a, entries)));
    const all = results.flat().sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    for (const seqs of results) expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it('a consumer following the feed during concurrent writers, flushes and re-reads ends equal to events, seeing every seq once, in order', async () => {
    const a = acct();
    const copy = new Map<string, PublicEvent>();
    const seqs: number[] = [];
    let done = false;
    let cursor: string | undefined;
    const consumer = (async () => {
      for (;;) {
        const finished = done;
        const { seen, cursor: next } = await follow(a, cursor, 5);
        for (const ch of seen) seqs.push(ch.seq);
        apply(copy, seen);
        cursor = next;
        if (finished) return;
      }
    })();
    // Four writers on overlapping events, each with its own feed instance (as separate workers
    // would be), edits with increasing `updated`, and deletions.
    const writer = async (w: number) => {
      const own = new EventsRepo(c.events, new ChangeFeed(c));
      for (let round = 0; round < 12; round++) {
        const updated = new Date(Date.UTC(2026, 10, 2, 0, round * 4 + w)).toISOString().replace('.000Z', 'Z');
        const page = Array.from({ length: 6 }, (_, k) =>
          ev(`e${(k * 3 + round + w) % 20}`, {
            summary: `w${w} r${round}`,
            updated,
            deleted: (round + k) % 7 === 0,
          }),
        );
        await own.writePage(a, page, new Date());
      }
    };
    await Promise.all([0, 1, 2, 3].map(writer));
    // Marks a writer's flush left to another (rounds bounded) are taken by the next flush.
    await feed.flush(a);
    done = true;
    await consumer;

    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    await expectCopyEqualsEvents(a, copy);
    expect(await c.events.countDocuments({ accountId: a, feedState: 'pending' })).toBe(0);
  });

  it('a write whose flush never ran (worker killed in between) reaches the feed at the next flush', async () => {
    const a = acct();
    const unflushed = new EventsRepo(c.events); // no feed: the process died before flushing
    await unflushed.writePage(a, [ev('x1'), ev('x2')], new Date());
    expect((await feed.read(a, undefined)).changes).toEqual([]);
    expect(await repo.flushFeed(a)).toBe(2);
    const copy = new Map<string, PublicEvent>();
    apply(copy, (await follow(a)).seen);
    await expectCopyEqualsEvents(a, copy);
  });

  it('a write landing while a flush is between appending and clearing keeps its mark, and gets an entry after it', async () => {
    const a = acct();
    await new EventsRepo(c.events).writePage(a, [ev('r1', { summary: 'v1' })], new Date());
    const f1 = new ChangeFeed(c);
    const append = f1.append.bind(f1);
    let early: FeedPage | undefined;
    f1.append = async (accountId, entries) => {
      const seqs = await append(accountId, entries);
      if (!early) {
        // A consumer reads the entry now (v1), then v2 lands before the flush clears the mark.
        early = await feed.read(a, undefined);
        await new EventsRepo(c.events).writePage(
          a,
          [ev('r1', { summary: 'v2', updated: '2026-11-01T11:00:00Z' })],
          new Date(),
        );
      }
      return seqs;
    };
    await f1.flush(a);

    expect(early?.changes.map((ch) => [ch.seq, ch.event.summary])).toEqual([[1, 'v1']]);
    const rest = await follow(a, early?.nextCursor);
    expect(rest.seen.map((ch) => [ch.seq, ch.event.summary])).toEqual([[2, 'v2']]);
    const copy = new Map<string, PublicEvent>();
    apply(copy, [...(early?.changes ?? []), ...rest.seen]);
    await expectCopyEqualsEvents(a, copy);
    expect(await c.events.countDocuments({ accountId: a, feedState: 'pending' })).toBe(0);
  });

  it('events stored before the feed existed are marked and enter it at the next flush', async () => {
    const a = acct();
    await c.events.insertOne({ ...(await sampleDoc(a, 'old1')) });
    expect(await markEventsWithoutFeedEntry(db)).toBeGreaterThanOrEqual(1);
    await repo.flushFeed(a);
    const { seen } = await follow(a);
    expect(seen.map((ch) => ch.eventUid)).toEqual(['old1']);
    expect(await markEventsWithoutFeedEntry(db)).toBe(0);
  });
});

/** A document as an older version stored it: no feed fields. */
async function sampleDoc(accountId: string, uid: string) {
  const scratch = acct();
  await new EventsRepo(c.events).writePage(scratch, [ev(uid)], new Date());
  const doc = await c.events.findOne({ accountId: scratch, eventUid: uid });
  await c.events.deleteMany({ accountId: scratch });
  const { _id, feedState: _p, feedToken: _t, ...rest } = doc as NonNullable<typeof doc>;
  return { ...rest, accountId };
}

describe('retention', () => {
  it('prunes superseded versions and old deletions (with their tombstones), keeps every live event, and answers a cursor behind it with CursorExpiredError', async () => {
    const a = acct();
    const old = new Date('2026-10-01T00:00:00Z');
    await repo.writePage(a, [ev('p1'), ev('p2'), ev('p3')], old); // seq 1-3
    await repo.writePage(a, [ev('p1', { summary: 'edited', updated: '2026-11-01T11:00:00Z' })], old); // 4
    await repo.writePage(a, [ev('p2', { deleted: true, updated: '2026-11-01T11:00:00Z' })], old); // 5
    await repo.writePage(a, [ev('p4')], new Date('2026-11-29T00:00:00Z')); // 6, recent

    const res = await feed.prune(a, new Date('2026-11-01T00:00:00Z'));
    // p1's first version (1), p2's versions (2 and its deletion 5) go; p3 (3), p1's latest (4), p4 (6) stay.
    expect(res).toEqual({ entries: 3, tombstones: 1 });
    expect(await c.events.findOne({ accountId: a, eventUid: 'p2' })).toBeNull();

    const fromStart = await follow(a);
    expect(fromStart.seen.map((ch) => ch.seq)).toEqual([3, 4, 6]);
    const copy = new Map<string, PublicEvent>();
    apply(copy, fromStart.seen);
    await expectCopyEqualsEvents(a, copy);

    // A consumer at 2 may have missed p2's deletion: start again. One at 5 (or later) missed nothing.
    await expect(feed.read(a, '2')).rejects.toBeInstanceOf(CursorExpiredError);
    await expect(feed.read(a, '2')).rejects.toThrow(/start again from the beginning/);
    expect((await feed.read(a, '5')).changes.map((ch) => ch.seq)).toEqual([6]);
  });

  it('never prunes the newest entry, so numbering continues; a purge keeps the numbering too', async () => {
    const a = acct();
    const old = new Date('2026-10-01T00:00:00Z');
    await repo.writePage(a, [ev('q1')], old);
    await repo.writePage(a, [ev('q1', { deleted: true, updated: '2026-11-01T11:00:00Z' })], old);
    await feed.prune(a, new Date('2026-11-01T00:00:00Z'));
    expect((await follow(a)).seen.map((ch) => ch.seq)).toEqual([2]);

    await repo.deleteAccount(a);
    await repo.writePage(a, [ev('q2')], new Date());
    expect((await follow(a)).seen.map((ch) => [ch.seq, ch.eventUid])).toEqual([[3, 'q2']]);
    await expect(feed.read(a, '1')).rejects.toBeInstanceOf(CursorExpiredError);
  });

  it("the worker's retention run prunes every account's feed and account updates behind the retention, measured from its clock", async () => {
    const a = acct();
    const b = acct();
    const old = new Date('2026-10-01T00:00:00Z');
    for (const id of [a, b]) {
      await repo.writePage(id, [ev('s1')], old);
      await repo.writePage(id, [ev('s1', { summary: 'v2', updated: '2026-11-01T11:00:00Z' })], old);
    }
    // The account updates webhooks deliver: kept as long, the latest of each account always.
    const updates = new AccountUpdatesRepo(c.accountUpdates);
    for (const state of ['degraded', 'active'] as const) {
      await updates.append({ accountId: a, state, at: old });
    }
    const logged: unknown[] = [];
    const retention = startRetention(
      [(cutoff) => feed.pruneAll(cutoff), (cutoff) => updates.prune(cutoff)],
      30 * 86_400_000,
      { info: (o: unknown) => logged.push(o), warn: () => undefined },
      { now: () => new Date('2026-11-30T00:00:00Z') },
    );
    await retention.stop();
    for (const id of [a, b]) expect((await follow(id)).seen.map((ch) => ch.seq)).toEqual([2]);
    expect(logged).toContainEqual(expect.objectContaining({ entries: expect.any(Number) }));
    expect((await updates.after(a, 0, 10)).map((u) => [u.seq, u.state])).toEqual([[2, 'active']]);
  });
});
