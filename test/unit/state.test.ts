/**
 * The account workflow's state transitions, without Temporal: each message and each activity
 * outcome applied to plain data. The workflow tests (time-skipping server) cover the wiring.
 */
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMINGS } from '../../src/config.js';
import { addChange, noPendingChanges } from '../../src/workflows/debounce.js';
import { classifyFailure, NON_RETRYABLE_FAILURE_TYPES } from '../../src/workflows/failures.js';
import type { SyncResult } from '../../src/workflows/messages.js';
import { nextFullSyncAt, nextWindowEdgeAt } from '../../src/workflows/schedule.js';
import * as S from '../../src/workflows/state.js';
import { nextDueLabel, statusOf } from '../../src/workflows/status.js';

const t = DEFAULT_TIMINGS;
const NOW = Date.parse('2026-11-30T12:00:00Z');

function ready(over: Partial<S.AccountData> = {}): S.AccountData {
  const d = S.initialData('acc');
  S.initialize(d, 'chn_1');
  return { ...d, needChannel: false, needFull: false, watermark: '2026-11-30T11:00:00Z', ...over };
}

const result = (over: Partial<SyncResult> = {}): SyncResult => ({
  kind: 'incremental',
  pages: 2,
  upserted: 5,
  deleted: 1,
  unchanged: 0,
  startedAt: '2026-11-30T12:00:00.000Z',
  finishedAt: '2026-11-30T12:00:03.000Z',
  watermark: '2026-11-30T11:59:00Z',
  ...over,
});

const change = (changesSince: string, at = NOW) => ({
  type: 'change',
  changesSince,
  channelId: 'chn_1',
  receivedAt: new Date(at).toISOString(),
});

describe('messages', () => {
  it('a change is folded into the pending changes and wakes the loop', () => {
    const d = ready();
    expect(S.recordNotification(d, change('2026-11-30T11:30:00Z'), NOW)).toBe(true);
    expect(d.pending.count).toBe(1);
    expect(d.pending.earliestChangesSince).toBe('2026-11-30T11:30:00.000Z');
    expect(d.lastNotificationAt).toBe(NOW);
  });

  it('a push for another channel, or of an unknown type, is counted and ignored', () => {
    const d = ready();
    expect(S.recordNotification(d, { ...change('2026-11-30T11:30:00Z'), channelId: 'chn_old' }, NOW)).toBe(
      false,
    );
    expect(S.recordNotification(d, { type: 'brand_new', receivedAt: 'x' }, NOW)).toBe(false);
    expect(d.ignoredNotifications).toBe(2);
    expect(d.pending.count).toBe(0);
    expect(d.lastNotificationAt).toBeNull();
  });

  it('profile pushes: initial sync completed asks for a full sync; disconnected is recorded', () => {
    const d = ready();
    S.recordNotification(d, { type: 'profile_initial_sync_completed', receivedAt: 'r1' }, NOW);
    S.recordNotification(d, { type: 'profile_disconnected', receivedAt: '2026-11-30T12:00:00Z' }, NOW);
    expect(d.needFull).toBe(true);
    expect(d.profileDisconnected).toEqual({ at: '2026-11-30T12:00:00Z' });
  });

  it('profile_initial_sync_completed buys at most one full sync an hour (once bounded)', () => {
    const d = ready();
    const push = { type: 'profile_initial_sync_completed', receivedAt: 'r' };
    expect(S.recordNotification(d, push, NOW, () => true)).toBe(true);
    expect(d).toMatchObject({ needFull: true, pushFullSyncAt: NOW });
    d.needFull = false;
    expect(S.recordNotification(d, push, NOW + S.PUSH_FULL_SYNC_MIN_INTERVAL_MS - 1, () => true)).toBe(false);
    expect(d).toMatchObject({ needFull: false, ignoredNotifications: 1 });
    expect(S.recordNotification(d, push, NOW + S.PUSH_FULL_SYNC_MIN_INTERVAL_MS, () => true)).toBe(true);
    expect(d.needFull).toBe(true);
    // Runs from before the bound: every such push asks for one.
    const old = ready();
    S.recordNotification(old, push, NOW);
    old.needFull = false;
    S.recordNotification(old, push, NOW + 1);
    expect(old.needFull).toBe(true);
  });

  it('new tokens while healthy re-check the channel; while failing or disconnected they allow a retry', () => {
    const healthy = ready();
    S.recordTokensUpdated(healthy);
    expect(healthy).toMatchObject({ needChannel: true, tokensUpdated: false });

    const failing = ready({ failingSince: NOW - 1 });
    S.recordTokensUpdated(failing);
    expect(failing).toMatchObject({ needChannel: false, tokensUpdated: true });

    const gone = ready({ state: 'disconnected' });
    S.recordTokensUpdated(gone);
    expect(gone.tokensUpdated).toBe(true);

    const fresh = S.initialData('acc'); // not initialized yet: the first run checks the channel anyway
    S.recordTokensUpdated(fresh);
    expect(fresh.tokensUpdated).toBe(false);
  });

  it('timers start on the account grid and are kept once set', () => {
    const d = S.initialData('acc');
    S.scheduleTimers(d, NOW, t);
    expect(d.nextFullSyncAt).toBe(nextFullSyncAt('acc', NOW, t.fullSyncIntervalMs));
    expect(d.nextWindowEdgeAt).toBe(nextWindowEdgeAt('acc', NOW, t.windowEdgeIntervalMs));
    const before = d.nextFullSyncAt;
    S.scheduleTimers(d, NOW + 86_400_000, t);
    expect(d.nextFullSyncAt).toBe(before);
  });
});

describe('syncs', () => {
  it('an incremental sync takes the pending changes and its requests; success records it', () => {
    const d = ready({
      requests: [
        { id: 'r1', mode: 'incremental' },
        { id: 'r2', mode: 'full' },
      ],
    });
    d.pending = addChange(d.pending, { changesSince: '2026-11-30T11:30:00Z', at: NOW, receivedAt: 'x' });
    const taken = S.startSync(d, { sync: 'incremental', requestIds: ['r1'], takesPending: true });
    expect(taken.pending.count).toBe(1);
    expect(taken.requests.map((r) => r.id)).toEqual(['r1']);
    expect(d.pending.count).toBe(0);
    expect(d.requests.map((r) => r.id)).toEqual(['r2']);

    expect(S.applySyncResult(d, 'incremental', result(), NOW, t)).toBeNull();
    expect(d.watermark).toBe('2026-11-30T11:59:00Z');
    expect(d.lastSyncs.incremental).toEqual({
      kind: 'incremental',
      at: '2026-11-30T12:00:03.000Z',
      upserted: 5,
      deleted: 1,
      pages: 2,
    });
    expect(d.lastSuccessfulSyncAt).toBe('2026-11-30T12:00:03.000Z');
  });

  it('a full sync clears the full and catch-up needs and moves the full-sync timer on', () => {
    const d = ready({ needFull: true, needCatchUp: true, nextFullSyncAt: NOW - 1 });
    S.startSync(d, { sync: 'full', requestIds: [], takesPending: true });
    expect(d).toMatchObject({ needFull: false, needCatchUp: false });
    S.applySyncResult(d, 'full', result({ kind: 'full' }), NOW, t);
    expect(d.nextFullSyncAt).toBe(nextFullSyncAt('acc', NOW, t.fullSyncIntervalMs));
  });

  it('a window-edge sync keeps the watermark (it read only +194..+201 days)', () => {
    const d = ready();
    S.startSync(d, { sync: 'window_edge', requestIds: [], takesPending: false });
    S.applySyncResult(
      d,
      'window_edge',
      result({ kind: 'window_edge', watermark: '2030-01-01T00:00:00Z' }),
      NOW,
      t,
    );
    expect(d.watermark).toBe('2026-11-30T11:00:00Z');
    expect(d.nextWindowEdgeAt).toBe(nextWindowEdgeAt('acc', NOW, t.windowEdgeIntervalMs));
  });

  it('full and window-edge reads record how far they read; incremental ones do not', () => {
    const d = ready();
    S.applySyncResult(d, 'full', result({ kind: 'full', readTo: '2027-06-19' }), NOW, t);
    expect(d.windowReadTo).toBe('2027-06-19');
    S.applySyncResult(d, 'incremental', result({ readTo: undefined }), NOW, t);
    expect(d.windowReadTo).toBe('2027-06-19');
    S.applySyncResult(d, 'window_edge', result({ kind: 'window_edge', readTo: '2027-06-26' }), NOW, t);
    expect(d.windowReadTo).toBe('2027-06-26');
  });

  it('success after failures recovers: a degraded account becomes active', () => {
    const d = ready({ state: 'degraded', failingSince: NOW - 5_000, failures: 3, retryAt: NOW });
    expect(S.applySyncResult(d, 'incremental', result(), NOW, t)).toBe('active');
    expect(d).toMatchObject({ failingSince: null, failures: 0, retryAt: null });
  });

  it('a failed sync puts back what it took, merged with what arrived meanwhile, and degrades', () => {
    const d = ready({ needFull: true, requests: [{ id: 'r1', mode: 'full' }] });
    d.pending = addChange(d.pending, { changesSince: '2026-11-30T11:30:00Z', at: NOW, receivedAt: 'x' });
    const taken = S.startSync(d, { sync: 'full', requestIds: ['r1'], takesPending: true });
    d.pending = addChange(d.pending, { changesSince: '2026-11-30T11:45:00Z', at: NOW + 1, receivedAt: 'y' });

    const next = S.applySyncFailure(d, taken, { cls: 'client', message: 'Cronofy said 422' }, NOW + 2);
    expect(next).toBe('degraded');
    expect(d.pending.count).toBe(2);
    expect(d.pending.earliestChangesSince).toBe('2026-11-30T11:30:00.000Z');
    expect(d.needFull).toBe(true);
    expect(d.failingSince).toBe(NOW + 2);
    expect(d.failures).toBe(1);
    expect(d.retryAt).toBeGreaterThan(NOW + 2);
    expect(d.lastError).toEqual({
      message: 'Cronofy said 422',
      type: 'client',
      at: new Date(NOW + 2).toISOString(),
    });

    S.applySyncFailure(
      d,
      S.startSync(d, { sync: 'full', requestIds: [], takesPending: true }),
      { cls: 'client', message: 'again' },
      NOW + 9,
    );
    expect(d.failingSince).toBe(NOW + 2); // the first failure is when it started failing
    expect(d.failures).toBe(2);
  });

  it('a sync for an account no longer registered deregisters it without a failure', () => {
    const d = ready();
    const taken = S.startSync(d, { sync: 'incremental', requestIds: [], takesPending: true });
    expect(S.applySyncFailure(d, taken, { cls: 'not_registered', message: 'gone' }, NOW)).toBeNull();
    expect(d.deregister).toEqual({ purge: false });
    expect(d.failures).toBe(0);
  });

  it('after a transient failure the channel is assumed lost: recreate it and re-read everything', () => {
    const d = ready();
    d.pending = addChange(noPendingChanges(), {
      changesSince: '2026-11-30T11:30:00Z',
      at: NOW,
      receivedAt: 'x',
    });
    S.assumeChannelLost(d);
    expect(d).toMatchObject({ needChannel: true, needFull: true });
    expect(d.pending.count).toBe(0);
  });
});

describe('channel', () => {
  it('a newly created channel asks for a catch-up once something was synced', () => {
    const d = ready({ needChannel: true });
    S.applyChannelEnsured(d, { channelId: 'chn_2', created: true }, NOW);
    expect(d).toMatchObject({
      channelId: 'chn_2',
      channelConfirmedAt: NOW,
      needChannel: false,
      needCatchUp: true,
    });

    const first = ready({ channelId: null, watermark: null, needChannel: true });
    S.applyChannelEnsured(first, { channelId: 'chn_1', created: true }, NOW);
    expect(first.needCatchUp).toBe(false); // nothing synced yet: the initial full sync covers it

    const same = ready({ needChannel: true });
    S.applyChannelEnsured(same, { channelId: 'chn_1', created: false }, NOW);
    expect(same.needCatchUp).toBe(false);
  });

  it('a channel that cannot be ensured degrades the account, or deregisters it when it is gone', () => {
    const d = ready({ needChannel: true });
    expect(S.applyChannelFailure(d, { cls: 'transient', message: 'timed out' }, NOW)).toBe('degraded');
    expect(d.lastError?.message).toBe('channel: timed out');
    const gone = ready();
    expect(S.applyChannelFailure(gone, { cls: 'not_registered', message: 'x' }, NOW)).toBeNull();
    expect(gone.deregister).toEqual({ purge: false });
  });

  it('retried apart (after the patch), a refused channel degrades without holding up syncs', () => {
    const d = ready({ needChannel: true });
    expect(S.applyChannelFailure(d, { cls: 'client', message: 'callback_url too long' }, NOW, true)).toBe(
      'degraded',
    );
    expect(d).toMatchObject({
      retryAt: null,
      failingSince: null,
      channelRetry: { attempts: 1, at: NOW + 60_000 },
    });
    d.state = 'degraded';
    // A successful sync meanwhile keeps it degraded: no pushes can arrive without a channel.
    expect(S.applySyncResult(d, 'full', result({ kind: 'full' }), NOW, t)).toBeNull();
    // The channel at last: active again, retries over.
    expect(S.applyChannelEnsured(d, { channelId: 'chn_2', created: true }, NOW)).toBe('active');
    expect(d.channelRetry).toBeNull();
    // Without the patch (old runs): the failure holds up everything, and success does not recover.
    const old = ready({ needChannel: true });
    S.applyChannelFailure(old, { cls: 'client', message: 'x' }, NOW);
    expect(old.retryAt).toBe(NOW + 60_000);
    old.state = 'degraded';
    expect(S.applyChannelEnsured(old, { channelId: 'chn_2', created: true }, NOW)).toBeNull();
  });

  it('a check that finds the channel closed asks for a new one and a catch-up', () => {
    const open = ready({ state: 'degraded', failingSince: NOW - 1, failures: 1 });
    expect(S.applyChannelChecked(open, true, NOW)).toBe('active');
    expect(open.channelConfirmedAt).toBe(NOW);
    const closed = ready();
    expect(S.applyChannelChecked(closed, false, NOW)).toBeNull();
    expect(closed).toMatchObject({ needChannel: true, needCatchUp: true });
    expect(S.applyChannelCheckFailure(closed, { cls: 'transient', message: '503' }, NOW)).toBe('degraded');
    expect(closed.lastError?.message).toBe('channel check: 503');
  });

  it('the channel check is due a check interval after the last sign of life', () => {
    const d = ready({ channelConfirmedAt: NOW, lastNotificationAt: NOW + 1_000 });
    expect(S.channelCheckDueAt(d, t)).toBe(NOW + 1_000 + t.channelCheckIntervalMs);
    expect(S.channelCheckDueAt(ready({ channelId: null }), t)).toBeNull();
  });
});

describe('calendars added to the registration', () => {
  it('what a new calendar list adds: some ids, all (filter lifted), or nothing', () => {
    expect(S.addedCalendars(['a'], ['a', 'b'])).toEqual(['b']);
    expect(S.addedCalendars(['a', 'b'], ['a'])).toEqual([]);
    expect(S.addedCalendars(['a'], null)).toBe('all');
    expect(S.addedCalendars(null, ['a'])).toEqual([]);
    expect(S.addedCalendars(null, null)).toEqual([]);
  });

  it('a channel made for more calendars asks for a backfill of the added ones, or a full sync', () => {
    const d = ready({ calendarIds: ['a'] });
    S.applyChannelEnsured(d, { channelId: 'chn_2', created: true, calendarIds: ['a', 'b'] }, NOW);
    expect(d).toMatchObject({ calendarIds: ['a', 'b'], backfillCalendarIds: ['b'], needFull: false });
    const lifted = ready({ calendarIds: ['a'] });
    S.applyChannelEnsured(lifted, { channelId: 'chn_2', created: true, calendarIds: null }, NOW);
    expect(lifted.needFull).toBe(true);
    // Not known before (state from an earlier run): remembered, nothing to backfill.
    const unknown = ready();
    S.applyChannelEnsured(unknown, { channelId: 'chn_2', created: true, calendarIds: ['a', 'b'] }, NOW);
    expect(unknown).toMatchObject({ calendarIds: ['a', 'b'] });
    expect(unknown.backfillCalendarIds ?? []).toEqual([]);
  });

  it('a channel made for fewer calendars asks for the others’ events to be tombstoned', () => {
    const d = ready({ calendarIds: ['a', 'b'], backfillCalendarIds: ['b'] });
    S.applyChannelEnsured(d, { channelId: 'chn_2', created: true, calendarIds: ['a'] }, NOW);
    expect(d).toMatchObject({ keepOnlyCalendarIds: ['a'], backfillCalendarIds: [] });
    const fromAll = ready({ calendarIds: null });
    S.applyChannelEnsured(fromAll, { channelId: 'chn_2', created: true, calendarIds: ['a'] }, NOW);
    expect(fromAll.keepOnlyCalendarIds).toEqual(['a']);
    // Added back before the pruning ran: it keeps its events.
    const back = ready({ calendarIds: ['a'], keepOnlyCalendarIds: ['a'] });
    S.applyChannelEnsured(back, { channelId: 'chn_3', created: true, calendarIds: ['a', 'b'] }, NOW);
    expect(back.keepOnlyCalendarIds).toEqual(['a', 'b']);
    const lifted = ready({ calendarIds: ['a'], keepOnlyCalendarIds: ['a'] });
    S.applyChannelEnsured(lifted, { channelId: 'chn_3', created: true, calendarIds: null }, NOW);
    expect(lifted.keepOnlyCalendarIds).toBeNull();
    const wider = ready({ calendarIds: ['a'] });
    S.applyChannelEnsured(wider, { channelId: 'chn_2', created: true, calendarIds: null }, NOW);
    expect(wider.keepOnlyCalendarIds ?? null).toBeNull();
  });

  it('a backfill keeps the watermark and the catch-up need; a failed one is put back', () => {
    const d = ready({ backfillCalendarIds: ['b'], needCatchUp: true });
    const taken = S.startSync(d, {
      sync: 'catch_up',
      requestIds: [],
      takesPending: false,
      calendarIds: ['b'],
    });
    expect(d).toMatchObject({ backfillCalendarIds: [], needCatchUp: true });
    S.applySyncFailure(d, taken, { cls: 'transient', message: '503' }, NOW);
    expect(d.backfillCalendarIds).toEqual(['b']);
    S.startSync(d, { sync: 'catch_up', requestIds: [], takesPending: false, calendarIds: ['b'] });
    S.applySyncResult(
      d,
      'catch_up',
      result({ kind: 'catch_up', watermark: '2030-01-01T00:00:00Z' }),
      NOW,
      t,
      {
        backfill: true,
      },
    );
    expect(d.watermark).toBe('2026-11-30T11:00:00Z');
    // A full sync reads every calendar: it backfills too.
    const full = ready({ backfillCalendarIds: ['b'] });
    S.startSync(full, { sync: 'full', requestIds: [], takesPending: true });
    expect(full.backfillCalendarIds).toEqual([]);
  });

  it('new tokens while failing re-check the channel too (once patched)', () => {
    const failing = ready({ failingSince: NOW - 1 });
    S.recordTokensUpdated(failing, () => true);
    expect(failing).toMatchObject({ needChannel: true, tokensUpdated: true });
  });
});

describe('authorization and deregistration', () => {
  it('disconnect drops the channel and stops retrying; reconnect starts over', () => {
    const d = ready({ state: 'degraded', failingSince: NOW - 1, failures: 9, retryAt: NOW + 1 });
    expect(S.applyDisconnect(d)).toBe('disconnected');
    expect(d).toMatchObject({ channelId: null, retryAt: null });
    d.state = 'disconnected';
    d.tokensUpdated = true;
    expect(S.applyReconnect(d)).toBe('active');
    expect(d).toMatchObject({
      tokensUpdated: false,
      failingSince: null,
      failures: 0,
      needChannel: true,
      needFull: true,
    });
  });

  it('deregistered: closed, no channel', () => {
    const d = ready();
    S.applyDeregistered(d);
    expect(d).toMatchObject({ state: 'closed', channelId: null });
  });
});

describe('settings', () => {
  const current = { timings: t, callbackUrl: 'https://old.example.com/cronofy/notifications/acc' };

  it('are stale an hour after they were last applied, and at once when never applied', () => {
    expect(S.settingsStale(ready(), NOW)).toBe(true);
    expect(S.settingsStale(ready({ settingsAt: NOW - S.SETTINGS_REFRESH_MS + 1 }), NOW)).toBe(false);
    expect(S.settingsStale(ready({ settingsAt: NOW - S.SETTINGS_REFRESH_MS }), NOW)).toBe(true);
  });

  it('unchanged settings change nothing but the time they were read', () => {
    const d = ready({ nextFullSyncAt: NOW + 5, nextWindowEdgeAt: NOW + 6 });
    expect(S.applySettings(d, current, current, NOW)).toEqual(current);
    expect(d).toMatchObject({
      settingsAt: NOW,
      nextFullSyncAt: NOW + 5,
      nextWindowEdgeAt: NOW + 6,
      needChannel: false,
    });
  });

  it('a new interval moves that timer to the new grid', () => {
    const d = ready({ nextFullSyncAt: NOW + 5, nextWindowEdgeAt: NOW + 6 });
    const timings = { ...t, fullSyncIntervalMs: 3_600_000 };
    expect(S.applySettings(d, current, { timings }, NOW).timings).toBe(timings);
    expect(d.nextFullSyncAt).toBe(nextFullSyncAt('acc', NOW, 3_600_000));
    expect(d.nextWindowEdgeAt).toBe(NOW + 6);
  });

  it('a new callback URL asks for a new channel and remembers the old one to close', () => {
    const d = ready();
    const next = { timings: t, callbackUrl: 'https://new.example.com/cronofy/notifications/acc' };
    expect(S.applySettings(d, current, next, NOW).callbackUrl).toBe(next.callbackUrl);
    expect(d).toMatchObject({ needChannel: true, staleCallbackUrls: [current.callbackUrl] });
    S.applyChannelEnsured(d, { channelId: 'chn_9', created: true }, NOW);
    expect(d.staleCallbackUrls).toEqual([]);
    // A worker without a PUBLIC_URL of its own leaves the URL as it is.
    const same = ready();
    expect(S.applySettings(same, current, { timings: t }, NOW).callbackUrl).toBe(current.callbackUrl);
    expect(same.needChannel).toBe(false);
  });
});

describe('profiles', () => {
  const profile = { profileId: 'p', profileName: null, providerName: 'google', initialSyncRequired: false };
  it('profile pushes ask for UserInfo once patched; a conferencing one is no longer ignored', () => {
    const d = ready();
    S.recordNotification(d, { type: 'profile_disconnected', receivedAt: 'r' }, NOW, undefined, () => true);
    expect(d.needProfiles).toBe(true);
    const c = ready();
    expect(
      S.recordNotification(
        c,
        { type: 'conferencing_profile_disconnected', receivedAt: 'r' },
        NOW,
        undefined,
        () => true,
      ),
    ).toBe(true);
    expect(c).toMatchObject({ needProfiles: true, ignoredNotifications: 0 });
    const old = ready();
    expect(
      S.recordNotification(old, { type: 'conferencing_profile_disconnected', receivedAt: 'r' }, NOW),
    ).toBe(false);
    expect(old.ignoredNotifications).toBe(1);
  });

  it('UserInfo clears a disconnection only when every profile is connected', () => {
    const d = ready({ profileDisconnected: { at: 'x' }, needProfiles: true });
    S.applyProfiles(d, [{ ...profile, connected: false, relinkUrl: 'https://relink' }]);
    expect(d).toMatchObject({ needProfiles: false, profileDisconnected: { at: 'x' } });
    S.applyProfiles(d, [{ ...profile, connected: true, relinkUrl: null }]);
    expect(d.profileDisconnected).toBeNull();
  });
});

describe('bookkeeping', () => {
  it('a failed MongoDB write shows an active account degraded and is redone on a backoff', () => {
    const d = ready();
    expect(S.applyBookkeepingFailure(d, { cls: 'transient', message: 'MongoDB unreachable' }, NOW)).toBe(
      'degraded',
    );
    expect(d.unrecorded).toEqual({ since: NOW, attempts: 1, retryAt: NOW + 60_000 });
    expect(d.lastError?.message).toBe('bookkeeping: MongoDB unreachable');
    d.state = 'degraded';
    expect(S.applyBookkeepingFailure(d, { cls: 'transient', message: 'again' }, NOW + 60_000)).toBeNull();
    expect(d.unrecorded).toEqual({ since: NOW, attempts: 2, retryAt: NOW + 60_000 + 120_000 });
    // Recorded: active again, unless Cronofy is failing too.
    expect(S.applyRecorded(d)).toBe('active');
    expect(d.unrecorded).toBeNull();
    const alsoFailing = ready({
      state: 'degraded',
      failingSince: NOW,
      unrecorded: { since: NOW, attempts: 1, retryAt: NOW },
    });
    expect(S.applyRecorded(alsoFailing)).toBeNull();
  });

  it('a disconnected account stays disconnected when recording fails', () => {
    const d = ready({ state: 'disconnected' });
    expect(S.applyBookkeepingFailure(d, { cls: 'transient', message: 'x' }, NOW)).toBeNull();
  });
});

describe('status', () => {
  it('projects the state, with the debounced sync due time from debounce.ts', () => {
    const d = ready({ lastNotificationAt: NOW });
    d.pending = addChange(noPendingChanges(), {
      changesSince: '2026-11-30T11:30:00Z',
      at: NOW,
      receivedAt: 'x',
    });
    d.requests = [{ id: 'r', mode: 'full' }];
    const s = statusOf(d, 'full', t);
    expect(s.pending).toEqual({
      notifications: 1,
      earliestChangesSince: '2026-11-30T11:30:00.000Z',
      firstPendingAt: new Date(NOW).toISOString(),
      requested: ['full'],
      syncDueAt: new Date(NOW + Math.min(t.debounceQuietMs, t.debounceMaxMs)).toISOString(),
    });
    expect(s.running).toBe('full');
    expect(s.channel).toEqual({
      id: 'chn_1',
      lastNotificationAt: new Date(NOW).toISOString(),
      lastCheckedAt: null,
    });
    expect(nextDueLabel(s)).toBe('debounced sync');
    expect(statusOf(ready(), null, t).pending.syncDueAt).toBeNull();
  });
});

describe('failure classification', () => {
  const app = (type: string, status?: number) =>
    ApplicationFailure.create({ type, message: `${type} ${status ?? ''}`, details: [{ status }] });
  const viaActivity = (cause: Error) =>
    new ActivityFailure('activity failed', 'syncEvents', 'id', RetryState.NON_RETRYABLE_FAILURE, 'id', cause);

  it('maps failure types to what they mean for the account', () => {
    expect(classifyFailure(viaActivity(app('CronofyAuthRevokedError'))).cls).toBe('auth');
    expect(classifyFailure(viaActivity(app('CronofyClientError', 403))).cls).toBe('auth');
    expect(classifyFailure(viaActivity(app('CronofyClientError', 422))).cls).toBe('client');
    expect(classifyFailure(viaActivity(app('AccountNotRegistered'))).cls).toBe('not_registered');
    expect(classifyFailure(viaActivity(app('CronofyServerError', 503))).cls).toBe('transient');
    expect(classifyFailure(viaActivity(new TimeoutFailure('t', undefined, 'HEARTBEAT' as never)))).toEqual({
      cls: 'transient',
      message: 'timed out (HEARTBEAT)',
    });
    expect(classifyFailure(new Error('boom'))).toEqual({ cls: 'transient', message: 'boom' });
  });

  it('the retry policy gives up at once on exactly the types retrying cannot fix', () => {
    expect([...NON_RETRYABLE_FAILURE_TYPES].sort()).toEqual([
      'AccountNotRegistered',
      'CronofyAuthRevokedError',
      'CronofyClientError',
    ]);
  });
});
