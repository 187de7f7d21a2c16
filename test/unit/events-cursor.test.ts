/** The events read API's pure parts: cursor encoding and the page filter. */
import { describe, expect, it } from 'vitest';
import { InvalidCursorError } from '../../src/store/cursor.js';
import {
  clampLimit,
  decodeCursor,
  encodeCursor,
  eventsFilter,
  queryFingerprint,
} from '../../src/store/events-query.js';

const q = { accountId: 'acc', from: new Date('2026-05-01T00:00:00Z'), to: new Date('2026-06-01T00:00:00Z') };

describe('events cursor', () => {
  it('round-trips a position, opaque and URL-safe', () => {
    const fp = queryFingerprint(q);
    const pos = { startAt: new Date('2026-05-03T09:30:00.123Z'), eventUid: 'evt_ä/+=' };
    const c = encodeCursor(pos, fp);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(c, fp)).toEqual(pos);
    expect(decodeCursor(encodeCursor({ startAt: null, eventUid: 'x' }, fp), fp)).toEqual({
      startAt: null,
      eventUid: 'x',
    });
  });

  it('refuses malformed cursors and cursors of another query', () => {
    const fp = queryFingerprint(q);
    for (const bad of [
      '',
      'not base64!',
      Buffer.from('{"v":2}').toString('base64url'),
      Buffer.from('[]').toString('base64url'),
      'e30',
    ]) {
      expect(() => decodeCursor(bad, fp)).toThrow(InvalidCursorError);
    }
    const other = queryFingerprint({ ...q, calendarId: 'cal_1' });
    expect(other).not.toBe(fp);
    expect(queryFingerprint({ ...q, includeDeleted: true })).not.toBe(fp);
    const c = encodeCursor({ startAt: new Date(0), eventUid: 'a' }, other);
    expect(() => decodeCursor(c, fp)).toThrow(/other filters/);
  });

  it('the fingerprint ignores page size and cursor', () => {
    expect(queryFingerprint({ ...q, limit: 5, cursor: 'x' } as never)).toBe(queryFingerprint(q));
  });

  it('clamps the limit to 1..1000, default 100', () => {
    expect(clampLimit(undefined)).toBe(100);
    expect(clampLimit(0)).toBe(1);
    expect(clampLimit(5000)).toBe(1000);
    expect(clampLimit(42)).toBe(42);
  });
});

describe('events filter', () => {
  it('selects overlap with [from, to), live events by default', () => {
    expect(eventsFilter(q)).toEqual({
      accountId: 'acc',
      deleted: false,
      startAt: { $lt: q.to },
      $and: [{ $or: [{ endAt: { $gt: q.from } }, { startAt: { $gte: q.from } }] }],
    });
  });

  it('adds calendar, tombstones and no range when asked', () => {
    expect(eventsFilter({ accountId: 'acc', calendarId: 'cal_1', includeDeleted: true })).toEqual({
      accountId: 'acc',
      calendarId: 'cal_1',
    });
  });

  it('continues strictly after the cursor, bounding the index range by its start', () => {
    const at = new Date('2026-05-03T09:00:00Z');
    const f = eventsFilter({ accountId: 'acc', to: q.to }, { startAt: at, eventUid: 'evt_5' });
    expect(f).toEqual({
      accountId: 'acc',
      deleted: false,
      startAt: { $lt: q.to, $gte: at },
      $and: [{ $or: [{ startAt: { $gt: at } }, { eventUid: { $gt: 'evt_5' } }] }],
    });
  });

  it('after an event without a start: the rest of those, then every event with a start', () => {
    const f = eventsFilter({ accountId: 'acc' }, { startAt: null, eventUid: 'evt_1' });
    expect(f.$and?.[0]).toMatchObject({
      $or: [{ startAt: null, eventUid: { $gt: 'evt_1' } }, { startAt: { $gte: expect.any(Date) } }],
    });
  });
});
