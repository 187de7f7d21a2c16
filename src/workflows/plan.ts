/**
 * What the account workflow should do next. Pure: `planNext(data, now, timings)` looks at the
 * workflow's plain-data state and returns either one unit of work or the time to wake up.
 * The workflow only carries out the answer (timers, activities), so every decision is unit-tested
 * without Temporal.
 */

import type { SyncKind, SyncTimings, SyncTrigger } from '../domain.js';
import { debounceDueAt, lastModifiedFor } from './debounce.js';
import { type AccountData, channelCheckDueAt } from './state.js';

export type Step =
  | { kind: 'deregister' }
  | { kind: 'reconnect' }
  | { kind: 'disconnect' }
  | { kind: 'ensureChannel' }
  | { kind: 'checkChannel' }
  /** Read the account's profiles from Cronofy (UserInfo). */
  | { kind: 'checkProfiles' }
  /** Tombstone the stored events of calendars removed from the registration. */
  | { kind: 'pruneCalendars'; keepCalendarIds: string[] }
  /** Redo MongoDB bookkeeping that failed: record the account's state and channel. */
  | { kind: 'record' }
  | {
      kind: 'sync';
      sync: SyncKind;
      lastModified?: string;
      /** Window edge: where the last full or window-edge read ended. */
      windowReadTo?: string;
      /** A backfill of calendars added to the registration: a full read of these only. */
      calendarIds?: string[];
      trigger: SyncTrigger;
      /** Requests (signals, updates) this sync answers. */
      requestIds: string[];
      /** Takes the pending changes (incremental syncs, and full syncs which cover them). */
      takesPending: boolean;
    }
  | { kind: 'wait'; until: number | null };

export function planNext(d: AccountData, now: number, t: SyncTimings): Step {
  // Bookkeeping that failed is retried on its own backoff, before anything else that writes.
  const recordAt = d.unrecorded?.retryAt ?? null;
  if (d.deregister)
    return recordAt !== null && now < recordAt ? { kind: 'wait', until: recordAt } : { kind: 'deregister' };
  if (recordAt !== null && recordAt <= now) return { kind: 'record' };
  if (d.state === 'disconnected') {
    return d.tokensUpdated ? { kind: 'reconnect' } : { kind: 'wait', until: recordAt };
  }
  if (
    d.failingSince !== null &&
    now - d.failingSince >= t.syncRetryWindowMs &&
    d.lastError?.type === 'auth'
  ) {
    return { kind: 'disconnect' };
  }
  if (d.retryAt !== null && now < d.retryAt && !d.tokensUpdated) {
    return { kind: 'wait', until: recordAt === null ? d.retryAt : Math.min(d.retryAt, recordAt) };
  }

  // A channel that keeps failing is retried on its own backoff; syncs go on meanwhile.
  const channelRetryAt = d.needChannel ? (d.channelRetry?.at ?? null) : null;
  if (d.needChannel && (channelRetryAt === null || channelRetryAt <= now)) return { kind: 'ensureChannel' };

  if (d.needProfiles) return { kind: 'checkProfiles' };
  if (d.keepOnlyCalendarIds) return { kind: 'pruneCalendars', keepCalendarIds: d.keepOnlyCalendarIds };

  const manual = d.requests[0];
  if (manual) {
    const ids = d.requests.filter((r) => r.mode === manual.mode).map((r) => r.id);
    if (manual.mode === 'full') {
      return { kind: 'sync', sync: 'full', trigger: 'manual', requestIds: ids, takesPending: true };
    }
    const lm = d.pending.count > 0 ? lastModifiedFor(d.pending, d.watermark) : d.watermark;
    return lm === null
      ? { kind: 'sync', sync: 'full', trigger: 'manual', requestIds: ids, takesPending: true }
      : {
          kind: 'sync',
          sync: 'incremental',
          lastModified: lm,
          trigger: 'manual',
          requestIds: ids,
          takesPending: true,
        };
  }
  if (d.needFull)
    return { kind: 'sync', sync: 'full', trigger: 'recovery', requestIds: [], takesPending: true };
  if (d.needCatchUp) {
    return d.watermark === null
      ? { kind: 'sync', sync: 'full', trigger: 'recovery', requestIds: [], takesPending: true }
      : {
          kind: 'sync',
          sync: 'catch_up',
          lastModified: d.watermark,
          trigger: 'recovery',
          requestIds: [],
          takesPending: false,
        };
  }

  if (d.backfillCalendarIds?.length) {
    return {
      kind: 'sync',
      sync: 'catch_up',
      trigger: 'recovery',
      requestIds: [],
      takesPending: false,
      calendarIds: d.backfillCalendarIds,
    };
  }

  const debounceDue = debounceDueAt(d.pending, { quietMs: t.debounceQuietMs, maxMs: t.debounceMaxMs });
  if (debounceDue !== null && debounceDue <= now) {
    const lm = lastModifiedFor(d.pending, d.watermark);
    return lm === null
      ? { kind: 'sync', sync: 'full', trigger: 'notification', requestIds: [], takesPending: true }
      : {
          kind: 'sync',
          sync: 'incremental',
          lastModified: lm,
          trigger: 'notification',
          requestIds: [],
          takesPending: true,
        };
  }
  if (d.nextFullSyncAt !== null && d.nextFullSyncAt <= now) {
    return { kind: 'sync', sync: 'full', trigger: 'schedule', requestIds: [], takesPending: true };
  }
  if (d.nextWindowEdgeAt !== null && d.nextWindowEdgeAt <= now) {
    return {
      kind: 'sync',
      sync: 'window_edge',
      trigger: 'schedule',
      requestIds: [],
      takesPending: false,
      ...(d.windowReadTo ? { windowReadTo: d.windowReadTo } : {}),
    };
  }
  const checkDue = channelCheckDueAt(d, t);
  if (checkDue !== null && checkDue <= now) return { kind: 'checkChannel' };

  const candidates = [
    debounceDue,
    d.nextFullSyncAt,
    d.nextWindowEdgeAt,
    checkDue,
    recordAt,
    channelRetryAt,
  ].filter((x): x is number => x !== null);
  return { kind: 'wait', until: candidates.length ? Math.min(...candidates) : null };
}
