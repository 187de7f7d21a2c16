/**
 * The webhook messages (src/webhooks/messages.ts): what is delivered next from a feed page and the
 * account's updates, how far the cursors move, and when a profile reading is worth a message.
 */
import { describe, expect, it } from 'vitest';
import type { FeedChange } from '../../src/webhooks/feed.js';
import { type AccountUpdate, nextMessage, profilesChanged } from '../../src/webhooks/messages.js';

const T0 = Date.parse('2026-11-30T09:00:00Z');
const change = (seq: number, atSec = seq): FeedChange => ({
  seq,
  op: seq % 5 === 0 ? 'delete' : 'upsert',
  eventUid: `evt_${seq}`,
  calendarId: 'cal_work',
  event: { eventUid: `evt_${seq}`, summary: `event ${seq}` },
  changedAt: new Date(T0 + atSec * 1000),
});
const update = (seq: number, atSec: number, over: Partial<AccountUpdate> = {}): AccountUpdate => ({
  accountId: 'acc',
  seq,
  state: 'degraded',
  reason: 'Cronofy 500',
  at: new Date(T0 + atSec * 1000),
  ...over,
});

describe('nextMessage', () => {
  it('is null when both streams are caught up', () => {
    expect(
      nextMessage({ accountId: 'acc', changes: [], pageCursor: '7', updates: [], maxChanges: 100 }),
    ).toBeNull();
  });

  it('sends a whole page as one events.changed, with the page cursor', () => {
    const m = nextMessage({
      accountId: 'acc',
      changes: [change(1), change(2), change(3)],
      pageCursor: '3',
      updates: [],
      maxChanges: 100,
    });
    expect(m?.advance).toEqual({ feedCursor: '3' });
    expect(m?.payload).toEqual({
      type: 'events.changed',
      accountId: 'acc',
      changes: [1, 2, 3].map((s) => ({ ...change(s), changedAt: change(s).changedAt.toISOString() })),
      cursor: '3',
    });
  });

  it('never sends more than maxChanges, and the cursor is after the last one sent', () => {
    const changes = [1, 2, 3, 4, 5].map((s) => change(s));
    const m = nextMessage({ accountId: 'acc', changes, pageCursor: '5', updates: [], maxChanges: 2 });
    expect(m?.payload.type === 'events.changed' && m.payload.changes.map((c) => c.seq)).toEqual([1, 2]);
    expect(m?.advance).toEqual({ feedCursor: '2' });
  });

  it('sends an account update recorded before the next change first, moving only its own cursor', () => {
    const m = nextMessage({
      accountId: 'acc',
      changes: [change(10)],
      pageCursor: '10',
      updates: [update(4, 5)],
      maxChanges: 100,
    });
    expect(m?.advance).toEqual({ updatesSeq: 4 });
    expect(m?.payload).toEqual({
      type: 'account.updated',
      accountId: 'acc',
      state: 'degraded',
      reason: 'Cronofy 500',
      at: new Date(T0 + 5000).toISOString(),
    });
  });

  it('stops a run of changes before an update recorded earlier than the next change', () => {
    const m = nextMessage({
      accountId: 'acc',
      changes: [change(1), change(2), change(3)],
      pageCursor: '3',
      updates: [update(1, 2.5, { state: 'active', reason: null })],
      maxChanges: 100,
    });
    expect(m?.payload.type === 'events.changed' && m.payload.changes.map((c) => c.seq)).toEqual([1, 2]);
    expect(m?.advance).toEqual({ feedCursor: '2' });
  });

  it('leaves out absent reason and profiles; carries profiles with relink URLs', () => {
    const profiles = [
      { profileId: 'pro_1', profileName: 'me@example.com', connected: false, relinkUrl: 'https://relink' },
    ];
    const m = nextMessage({
      accountId: 'acc',
      changes: [],
      pageCursor: '',
      updates: [update(2, 1, { state: 'active', reason: null, profiles })],
      maxChanges: 100,
    });
    expect(m?.payload).toEqual({
      type: 'account.updated',
      accountId: 'acc',
      state: 'active',
      profiles,
      at: new Date(T0 + 1000).toISOString(),
    });
  });
});

describe('profilesChanged', () => {
  const p = (id: string, connected: boolean, relinkUrl: string | null = null) => ({
    profileId: id,
    connected,
    relinkUrl,
  });
  it('a first reading counts only when a profile needs re-authorization', () => {
    expect(profilesChanged(null, [p('a', true)])).toBe(false);
    expect(profilesChanged(null, [p('a', true), p('b', false, 'https://relink')])).toBe(true);
  });
  it('counts a connection or relink link change, a new profile and a removed one', () => {
    expect(profilesChanged([p('a', true)], [p('a', true)])).toBe(false);
    expect(profilesChanged([p('a', true)], [p('a', false, 'u')])).toBe(true);
    expect(profilesChanged([p('a', false, 'u')], [p('a', false, 'v')])).toBe(true);
    expect(profilesChanged([p('a', true)], [p('a', true), p('b', true)])).toBe(true);
    expect(profilesChanged([p('a', true), p('b', true)], [p('a', true)])).toBe(true);
  });
});
