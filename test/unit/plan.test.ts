import { describe, expect, it } from 'vitest';
import { addChange, noPendingChanges } from '../../src/workflows/debounce.js';
import type { SyncTimings } from '../../src/workflows/messages.js';
import { planNext } from '../../src/workflows/plan.js';
import { type AccountData, initialData } from '../../src/workflows/state.js';

const t: SyncTimings = {
  debounceQuietMs: 2_000,
  debounceMaxMs: 15_000,
  fullSyncIntervalMs: 7 * 86_400_000,
  windowEdgeIntervalMs: 7 * 86_400_000,
  channelCheckIntervalMs: 86_400_000,
  syncRetryWindowMs: 86_400_000,
};
const NOW = 1_000_000_000;

/** An initialized, healthy account with a channel, a watermark and both timers ahead. */
function data(over: Partial<AccountData> = {}): AccountData {
  return {
    ...initialData('a'),
    initialized: true,
    channelId: 'chn_1',
    channelConfirmedAt: NOW,
    needChannel: false,
    needFull: false,
    watermark: '2026-01-01T00:00:00Z',
    nextFullSyncAt: NOW + 100_000,
    nextWindowEdgeAt: NOW + 200_000,
    ...over,
  };
}

describe('planNext', () => {
  it('waits for the earliest timer when idle', () => {
    expect(planNext(data(), NOW, t)).toEqual({ kind: 'wait', until: NOW + 100_000 });
  });

  it('runs the incremental sync once the debounce is due, from the earliest changes_since', () => {
    const pending = addChange(noPendingChanges(), {
      at: NOW,
      changesSince: '2026-02-01T10:00:00Z',
      receivedAt: '',
    });
    expect(planNext(data({ pending }), NOW + 1_000, t)).toEqual({ kind: 'wait', until: NOW + 2_000 });
    expect(planNext(data({ pending }), NOW + 2_000, t)).toMatchObject({
      kind: 'sync',
      sync: 'incremental',
      lastModified: '2026-02-01T10:00:00.000Z',
      trigger: 'notification',
      takesPending: true,
    });
  });

  it('deregistration comes before everything', () => {
    const pending = addChange(noPendingChanges(), {
      at: 0,
      changesSince: '2026-02-01T10:00:00Z',
      receivedAt: '',
    });
    expect(planNext(data({ pending, deregister: { purge: false }, needFull: true }), NOW, t)).toEqual({
      kind: 'deregister',
    });
  });

  it('full and window-edge timers fire when due', () => {
    expect(planNext(data({ nextFullSyncAt: NOW }), NOW, t)).toMatchObject({
      kind: 'sync',
      sync: 'full',
      trigger: 'schedule',
    });
    expect(planNext(data({ nextWindowEdgeAt: NOW }), NOW, t)).toMatchObject({
      kind: 'sync',
      sync: 'window_edge',
      takesPending: false,
    });
    // The next edge read starts where the last full or window-edge read ended.
    expect(planNext(data({ nextWindowEdgeAt: NOW, windowReadTo: '2027-06-12' }), NOW, t)).toMatchObject({
      sync: 'window_edge',
      windowReadTo: '2027-06-12',
    });
  });

  it('checks the channel after the check interval without notifications', () => {
    const d = data({
      channelConfirmedAt: NOW - 86_400_000,
      lastNotificationAt: NOW - 86_400_001,
      nextFullSyncAt: NOW + 1e9,
      nextWindowEdgeAt: NOW + 1e9,
    });
    expect(planNext(d, NOW, t)).toEqual({ kind: 'checkChannel' });
    // a recent notification proves the channel alive
    expect(planNext({ ...d, lastNotificationAt: NOW - 1_000 }, NOW, t)).toEqual({
      kind: 'wait',
      until: NOW - 1_000 + 86_400_000,
    });
  });

  it('catch-up reads from the watermark; with no watermark it reads everything', () => {
    expect(planNext(data({ needCatchUp: true }), NOW, t)).toMatchObject({
      sync: 'catch_up',
      lastModified: '2026-01-01T00:00:00Z',
    });
    expect(planNext(data({ needCatchUp: true, watermark: null }), NOW, t)).toMatchObject({ sync: 'full' });
  });

  it('manual requests are served first and batched by mode', () => {
    const d = data({
      requests: [
        { id: 'r1', mode: 'full' },
        { id: 'r2', mode: 'incremental' },
        { id: 'r3', mode: 'full' },
      ],
    });
    expect(planNext(d, NOW, t)).toMatchObject({ sync: 'full', trigger: 'manual', requestIds: ['r1', 'r3'] });
  });

  it('after a failure, Cronofy work waits for the retry time unless new tokens arrive', () => {
    const d = data({
      retryAt: NOW + 60_000,
      failingSince: NOW,
      lastError: { type: 'auth', message: 'x', at: '' },
      needFull: true,
    });
    expect(planNext(d, NOW, t)).toEqual({ kind: 'wait', until: NOW + 60_000 });
    expect(planNext({ ...d, tokensUpdated: true }, NOW, t)).toMatchObject({ kind: 'sync', sync: 'full' });
  });

  it('auth failing for the whole retry window disconnects; a transient failure does not', () => {
    const failing = {
      failingSince: NOW - 86_400_000,
      retryAt: NOW,
      lastError: { type: 'auth', message: 'x', at: '' },
    };
    expect(planNext(data(failing), NOW, t)).toEqual({ kind: 'disconnect' });
    expect(
      planNext(data({ ...failing, lastError: { type: 'transient', message: 'x', at: '' } }), NOW, t).kind,
    ).not.toBe('disconnect');
  });

  it('disconnected waits for tokens, then reconnects', () => {
    expect(planNext(data({ state: 'disconnected' }), NOW, t)).toEqual({ kind: 'wait', until: null });
    expect(planNext(data({ state: 'disconnected', tokensUpdated: true }), NOW, t)).toEqual({
      kind: 'reconnect',
    });
  });
});

describe('planNext: profiles', () => {
  it('reads them after the channel and before syncs', () => {
    expect(planNext(data({ needProfiles: true, needFull: true }), NOW, t)).toEqual({ kind: 'checkProfiles' });
    expect(planNext(data({ needProfiles: true, needChannel: true }), NOW, t)).toEqual({
      kind: 'ensureChannel',
    });
  });
});

describe('planNext: backfill', () => {
  it('reads added calendars in full after the catch-up, before debounced work', () => {
    expect(planNext(data({ backfillCalendarIds: ['cal_b'] }), NOW, t)).toEqual({
      kind: 'sync',
      sync: 'catch_up',
      trigger: 'recovery',
      requestIds: [],
      takesPending: false,
      calendarIds: ['cal_b'],
    });
    expect(planNext(data({ backfillCalendarIds: ['cal_b'], needCatchUp: true }), NOW, t)).toMatchObject({
      sync: 'catch_up',
      lastModified: '2026-01-01T00:00:00Z',
    });
  });
});

describe('planNext: a channel that keeps failing', () => {
  it('syncs while the channel waits for its retry, and retries it when due', () => {
    const channelRetry = { attempts: 1, at: NOW + 60_000 };
    expect(planNext(data({ needChannel: true, needFull: true, channelRetry }), NOW, t)).toMatchObject({
      kind: 'sync',
      sync: 'full',
    });
    expect(planNext(data({ needChannel: true, channelRetry }), NOW, t)).toEqual({
      kind: 'wait',
      until: NOW + 60_000,
    });
    expect(planNext(data({ needChannel: true, channelRetry }), NOW + 60_000, t)).toEqual({
      kind: 'ensureChannel',
    });
  });
});

describe('planNext: failed bookkeeping', () => {
  const unrecorded = { since: NOW - 10, attempts: 1, retryAt: NOW + 5_000 };
  it('redoes it when its backoff is over, before anything else', () => {
    expect(planNext(data({ unrecorded: { ...unrecorded, retryAt: NOW }, needFull: true }), NOW, t)).toEqual({
      kind: 'record',
    });
  });
  it('wakes for it: while waiting, while disconnected, and before retrying a deregistration', () => {
    expect(planNext(data({ unrecorded }), NOW, t)).toEqual({ kind: 'wait', until: NOW + 5_000 });
    expect(planNext(data({ unrecorded, state: 'disconnected' }), NOW, t)).toEqual({
      kind: 'wait',
      until: NOW + 5_000,
    });
    expect(planNext(data({ unrecorded, deregister: { purge: false } }), NOW, t)).toEqual({
      kind: 'wait',
      until: NOW + 5_000,
    });
    expect(planNext(data({ unrecorded, retryAt: NOW + 60_000 }), NOW, t)).toEqual({
      kind: 'wait',
      until: NOW + 5_000,
    });
    // Without failed bookkeeping nothing changes: a disconnected account waits for new tokens.
    expect(planNext(data({ state: 'disconnected' }), NOW, t)).toEqual({ kind: 'wait', until: null });
  });
});

describe('sameCalendars', async () => {
  const { sameCalendars } = await import('../../src/activities/channels.js');
  it('compares as sets; null and empty mean all calendars', () => {
    expect(sameCalendars(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(sameCalendars(null, [])).toBe(true);
    expect(sameCalendars(['a'], ['a', 'b'])).toBe(false);
    expect(sameCalendars(null, ['a'])).toBe(false);
  });
});
