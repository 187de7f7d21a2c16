import { describe, expect, it } from 'vitest';
import type { CronofyEvent } from '../../src/cronofy/types.js';
import { contentHash, isAllDay, toEventDoc, toInstant } from '../../src/store/event-mapping.js';
import { shouldApply } from '../../src/store/events-repo.js';

const base: CronofyEvent = {
  calendar_id: 'cal_1',
  event_uid: 'evt_1',
  summary: 'Standup',
  description: 'daily',
  start: '2026-11-24T09:00:00Z',
  end: '2026-11-24T09:15:00Z',
  deleted: false,
  created: '2026-11-01T00:00:00Z',
  updated: '2026-11-20T12:00:00Z',
  participation_status: 'accepted',
  attendees: [{ email: 'a@x.io', display_name: 'A', status: 'accepted' }],
  organizer: { email: 'o@x.io' },
  recurring: true,
  meeting_url: 'https://meet.example/abc',
  conferencing: { provider_description: 'Zoom' },
};
const SYNCED = new Date('2026-11-23T00:00:00Z');

describe('event mapping', () => {
  it('maps every contract field and keeps unknown ones under extra', () => {
    const d = toEventDoc('acc', base, SYNCED);
    expect(d).toMatchObject({
      accountId: 'acc',
      calendarId: 'cal_1',
      eventUid: 'evt_1',
      eventId: null,
      summary: 'Standup',
      description: 'daily',
      start: '2026-11-24T09:00:00Z',
      end: '2026-11-24T09:15:00Z',
      allDay: false,
      deleted: false,
      participationStatus: 'accepted',
      recurring: true,
      syncedAt: SYNCED,
    });
    expect(d.startAt).toEqual(new Date('2026-11-24T09:00:00Z'));
    expect(d.endAt).toEqual(new Date('2026-11-24T09:15:00Z'));
    expect(d.updatedAt).toEqual(new Date('2026-11-20T12:00:00Z'));
    expect(d.extra).toEqual({
      meeting_url: 'https://meet.example/abc',
      conferencing: { provider_description: 'Zoom' },
    });
  });

  it('all-day dates become UTC midnights; localized times are parsed with their offset', () => {
    expect(isAllDay('2026-11-24')).toBe(true);
    expect(toInstant('2026-11-24')).toEqual(new Date('2026-11-24T00:00:00Z'));
    expect(isAllDay({ time: '2026-11-24', tzid: 'Europe/London' })).toBe(true);
    expect(toInstant({ time: '2026-11-24T10:00:00+01:00', tzid: 'Europe/Paris' })).toEqual(
      new Date('2026-11-24T09:00:00Z'),
    );
    expect(toInstant('garbage')).toBeNull();
    expect(toInstant(undefined)).toBeNull();
  });

  it('drops field names MongoDB cannot store', () => {
    const d = toEventDoc('acc', { ...base, $weird: 1, 'a.b': 2 }, SYNCED);
    expect(Object.keys(d.extra)).not.toContain('$weird');
    expect(Object.keys(d.extra)).not.toContain('a.b');
  });

  it('content hash ignores key order and sees any change', () => {
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as CronofyEvent;
    expect(contentHash(reordered)).toBe(contentHash(base));
    expect(contentHash({ ...base, summary: 'Standup!' })).not.toBe(contentHash(base));
  });
});

describe('shouldApply (ordering guard)', () => {
  const doc = (updated: string | null, summary = 'x') => {
    const d = toEventDoc('a', { ...base, summary, updated: updated ?? undefined }, SYNCED);
    return { updatedAt: d.updatedAt, contentHash: d.contentHash };
  };
  it('writes what we do not have', () =>
    expect(shouldApply(doc('2026-01-01T00:00:00Z'), undefined)).toBe(true));
  it('skips identical content (idempotent re-sync)', () =>
    expect(shouldApply(doc('2026-01-01T00:00:00Z'), doc('2026-01-01T00:00:00Z'))).toBe(false));
  it('never lets an older update overwrite a newer one', () =>
    expect(shouldApply(doc('2026-01-01T00:00:00Z', 'old'), doc('2026-01-02T00:00:00Z', 'new'))).toBe(false));
  it('applies a newer update', () =>
    expect(shouldApply(doc('2026-01-02T00:00:00Z', 'new'), doc('2026-01-01T00:00:00Z', 'old'))).toBe(true));
  it('applies a same-second change (Cronofy times have second precision)', () =>
    expect(shouldApply(doc('2026-01-01T00:00:00Z', 'b'), doc('2026-01-01T00:00:00Z', 'a'))).toBe(true));
  it('a full sync (authoritative) applies any different content, an older `updated` included', () => {
    const older = doc('2026-01-01T00:00:00Z', 'reimported');
    const stored = doc('2026-01-02T00:00:00Z', 'current');
    expect(shouldApply(older, stored, { authoritative: true })).toBe(true);
    expect(shouldApply(stored, stored, { authoritative: true })).toBe(false);
  });
});
