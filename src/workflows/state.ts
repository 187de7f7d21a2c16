/**
 * The account workflow's state and every change to it, as plain data and pure functions: what a
 * message records, what a sync, a channel call or a failure changes, and the `status` projection.
 * No Temporal, no clock (callers pass `now`), so each transition is unit-tested directly
 * (`test/unit/state.test.ts`); the workflow only calls activities and applies their outcomes here.
 *
 * A transition that changes the account's `SyncState` returns the state to enter; the workflow
 * records it (`accounts.state`, the `CronofySyncState` search attribute).
 *
 * Longer than our ~300 lines on purpose: every change to `AccountData` is in this one file, so what
 * can happen to an account's state reads (and is tested) in one place.
 */
import type { SyncKind, SyncMode, SyncState, SyncTimings, WorkerSettings } from '../domain.js';
import { addChange, mergePending, noPendingChanges, type PendingChanges } from './debounce.js';
import type { ClassifiedFailure } from './failures.js';
import type {
  DeregisterRequest,
  LastSync,
  NotificationSignal,
  ProfileState,
  SyncResult,
} from './messages.js';
import { failureRetryDelay, nextFullSyncAt, nextWindowEdgeAt } from './schedule.js';

export interface QueuedRequest {
  id: string;
  mode: SyncMode;
}

/** Everything the workflow knows; carried whole across continue-as-new. Times are epoch ms. */
export interface AccountData {
  accountId: string;
  initialized: boolean;
  state: SyncState;
  channelId: string | null;
  /** When the current channel was created or last confirmed open. */
  channelConfirmedAt: number | null;
  lastNotificationAt: number | null;
  pending: PendingChanges;
  requests: QueuedRequest[];
  needChannel: boolean;
  needFull: boolean;
  needCatchUp: boolean;
  lastSyncs: Partial<Record<SyncKind, LastSync>>;
  lastSuccessfulSyncAt: string | null;
  watermark: string | null;
  nextFullSyncAt: number | null;
  nextWindowEdgeAt: number | null;
  /**
   * The `to` date of the last full or window-edge read: the next window-edge read starts there if
   * that is before +194 d. Absent in state carried from runs before it existed.
   */
  windowReadTo?: string | null;
  failingSince: number | null;
  failures: number;
  /** Cronofy work waits until then after a failure (deregister and new tokens do not). */
  retryAt: number | null;
  lastError: { message: string; type: string | null; at: string } | null;
  profileDisconnected: { at: string } | null;
  tokensUpdated: boolean;
  deregister: DeregisterRequest | null;
  ignoredNotifications: number;
  /**
   * MongoDB bookkeeping (the account's state or channel, the end of a deregistration) failed for
   * its whole retry window: redo it at `retryAt`. Absent in state carried from earlier runs.
   */
  unrecorded?: { since: number; attempts: number; retryAt: number } | null;
  /**
   * Creating or finding the channel failed: it is retried on its own backoff (`at`) while syncs go
   * on, so a channel Cronofy refuses cannot stop the account from syncing. Absent in earlier runs.
   */
  channelRetry?: { attempts: number; at: number } | null;
  /**
   * The calendars the account's channel was last made for (`null`: all of them). Absent when not
   * known yet (state carried from runs before it was kept).
   */
  calendarIds?: string[] | null;
  /** Calendars added to the registration whose events are still to be read in full (backfill). */
  backfillCalendarIds?: string[];
  /** The registration narrowed to these calendars: the others' stored events are to be tombstoned. */
  keepOnlyCalendarIds?: string[] | null;
  /** When a `profile_initial_sync_completed` push last asked for a full sync (they are bounded). */
  pushFullSyncAt?: number | null;
  /** The account's profiles as Cronofy's UserInfo last reported them (absent: never read). */
  profiles?: ProfileState[] | null;
  /** A profile push arrived (or the account is new): read the profiles again. */
  needProfiles?: boolean;
  /** When the worker's settings were last applied (absent: never, in this or an earlier run). */
  settingsAt?: number | null;
  /** Callback URLs this account's channels had before PUBLIC_URL changed: closed at the next ensure. */
  staleCallbackUrls?: string[];
}

export function initialData(accountId: string): AccountData {
  return {
    accountId,
    initialized: false,
    state: 'active',
    channelId: null,
    channelConfirmedAt: null,
    lastNotificationAt: null,
    pending: noPendingChanges(),
    requests: [],
    needChannel: true,
    needFull: true,
    needCatchUp: false,
    lastSyncs: {},
    lastSuccessfulSyncAt: null,
    watermark: null,
    nextFullSyncAt: null,
    nextWindowEdgeAt: null,
    windowReadTo: null,
    failingSince: null,
    failures: 0,
    retryAt: null,
    lastError: null,
    profileDisconnected: null,
    tokensUpdated: false,
    deregister: null,
    ignoredNotifications: 0,
    unrecorded: null,
  };
}

// --- Messages -------------------------------------------------------------------------------

/**
 * At most one full sync per this interval comes from `profile_initial_sync_completed` pushes: a
 * captured push replayed in a loop must not buy back-to-back full syncs with our Cronofy budget.
 */
export const PUSH_FULL_SYNC_MIN_INTERVAL_MS = 3_600_000;

/**
 * Folds a Cronofy push in. Returns whether the loop has anything new to consider. `bounded()` says
 * whether push-triggered full syncs are rate-bounded (runs from after the patch that bounds them).
 */
export function recordNotification(
  d: AccountData,
  n: NotificationSignal,
  now: number,
  bounded: () => boolean = () => false,
  profiles: () => boolean = () => false,
): boolean {
  // A push for a channel that is not ours (an old one Cronofy still delivers, or a forged id that
  // passed HMAC as a replay) changes nothing; counted so operators can see it.
  if (n.channelId && d.channelId && n.channelId !== d.channelId) {
    d.ignoredNotifications += 1;
    return false;
  }
  switch (n.type) {
    case 'change':
      d.pending = addChange(d.pending, { changesSince: n.changesSince, at: now, receivedAt: n.receivedAt });
      break;
    case 'profile_disconnected':
      d.profileDisconnected = { at: n.receivedAt };
      if (profiles()) d.needProfiles = true;
      break;
    case 'conferencing_profile_disconnected':
      // A conferencing provider (Zoom, say) lost authorization: no calendar change, but what the
      // profiles say is worth reading again. Before the profiles patch: ignored like unknown types.
      if (!profiles()) {
        d.ignoredNotifications += 1;
        return false;
      }
      d.needProfiles = true;
      break;
    case 'profile_initial_sync_completed':
      if (bounded()) {
        if (d.pushFullSyncAt != null && now - d.pushFullSyncAt < PUSH_FULL_SYNC_MIN_INTERVAL_MS) {
          d.ignoredNotifications += 1;
          return false;
        }
        d.pushFullSyncAt = now;
      }
      d.needFull = true;
      if (profiles()) d.needProfiles = true;
      break;
    case 'verification':
      break;
    default:
      // Cronofy says new types may appear: acknowledge and ignore.
      d.ignoredNotifications += 1;
      return false;
  }
  d.lastNotificationAt = now;
  return true;
}

/** New tokens or settings were stored (`PUT /accounts/:id/tokens`, re-registration). */
export function recordTokensUpdated(d: AccountData, alsoWhileFailing: () => boolean = () => false): void {
  // Re-check the channel, which replaces it if its calendar filter no longer matches (re-registration
  // may change the calendars): one List Channels call. Runs from after the patch do it while the
  // account is failing too (before, a degraded account kept its old calendar filter).
  if (d.initialized && d.state !== 'disconnected' && (d.failingSince === null || alsoWhileFailing())) {
    d.needChannel = true;
  }
  // New tokens matter for retrying only when authorization is failing or gone: set while healthy,
  // the flag would turn a later disconnect straight into a reconnect with the same bad tokens.
  if (d.state === 'disconnected' || d.failingSince !== null) d.tokensUpdated = true;
}

/** First run: the account as `loadAccount` found it. Timers start on the account's grid. */
export function initialize(d: AccountData, channelId: string | null, calendarIds?: string[] | null): void {
  d.channelId = channelId;
  // The first full sync reads every registered calendar: later additions are what need a backfill.
  if (calendarIds !== undefined) d.calendarIds = calendarIds;
  d.needChannel = true;
  d.initialized = true;
}

export function scheduleTimers(d: AccountData, now: number, t: SyncTimings): void {
  d.nextFullSyncAt ??= nextFullSyncAt(d.accountId, now, t.fullSyncIntervalMs);
  d.nextWindowEdgeAt ??= nextWindowEdgeAt(d.accountId, now, t.windowEdgeIntervalMs);
}

// --- Syncs ----------------------------------------------------------------------------------

/** What a sync took from the state, so a failure can put it back. */
export interface TakenForSync {
  pending: PendingChanges;
  requests: QueuedRequest[];
  needFull: boolean;
  needCatchUp: boolean;
  backfillCalendarIds: string[];
}

export interface SyncPlan {
  sync: SyncKind;
  requestIds: string[];
  takesPending: boolean;
  /** A backfill: a read of these calendars only (a `catch_up` with no `last_modified`). */
  calendarIds?: string[];
}

/**
 * The stored tokens are about to be used (a sync or a channel call): a `tokensUpdated` signal that
 * arrives from now on is about newer tokens than the ones this call tries.
 */
export function useTokens(d: AccountData): void {
  d.tokensUpdated = false;
}

export function startSync(d: AccountData, step: SyncPlan): TakenForSync {
  const taken: TakenForSync = {
    pending: step.takesPending ? d.pending : noPendingChanges(),
    requests: d.requests.filter((r) => step.requestIds.includes(r.id)),
    needFull: d.needFull,
    needCatchUp: d.needCatchUp,
    backfillCalendarIds: d.backfillCalendarIds ?? [],
  };
  if (step.takesPending) d.pending = noPendingChanges();
  d.requests = d.requests.filter((r) => !step.requestIds.includes(r.id));
  if (step.sync === 'full') d.needFull = false;
  // A backfill reads some calendars in full: it is no catch-up from the watermark.
  if (step.sync === 'full' || (step.sync === 'catch_up' && !step.calendarIds)) d.needCatchUp = false;
  // A full sync reads every calendar, so it backfills too.
  if (step.sync === 'full' || step.calendarIds) d.backfillCalendarIds = [];
  return taken;
}

export function applySyncResult(
  d: AccountData,
  sync: SyncKind,
  result: SyncResult,
  now: number,
  t: SyncTimings,
  opts: { backfill?: boolean; calendarsFromSync?: boolean } = {},
): SyncState | null {
  // The registration as the sync saw it: a calendar removed (or added) is pruned (or backfilled)
  // now, not only when the channel is next ensured (which may keep failing for a while); the
  // channel's filter must follow it too.
  if (opts.calendarsFromSync && result.registeredCalendarIds !== undefined) {
    if (applyRegisteredCalendars(d, result.registeredCalendarIds)) d.needChannel = true;
  }
  d.lastSyncs[sync] = {
    kind: sync,
    at: result.finishedAt,
    upserted: result.upserted,
    deleted: result.deleted,
    pages: result.pages,
  };
  d.lastSuccessfulSyncAt = result.finishedAt;
  // A window-edge read covers only +194..+201 days: it says nothing about changes elsewhere.
  // Nor does a backfill, which read only the added calendars.
  if (sync !== 'window_edge' && !opts.backfill) d.watermark = result.watermark;
  if (sync === 'full') d.nextFullSyncAt = nextFullSyncAt(d.accountId, now, t.fullSyncIntervalMs);
  if (sync === 'window_edge') d.nextWindowEdgeAt = nextWindowEdgeAt(d.accountId, now, t.windowEdgeIntervalMs);
  if ((sync === 'full' || sync === 'window_edge') && result.readTo) d.windowReadTo = result.readTo;
  return recover(d);
}

/**
 * A sync failed for good (its retry window is over, or retrying cannot help). Nothing taken is lost:
 * pending changes and flags go back for the next attempt. Returns the state to enter.
 */
export function applySyncFailure(
  d: AccountData,
  taken: TakenForSync,
  f: ClassifiedFailure,
  now: number,
): SyncState | null {
  d.pending = mergePending(taken.pending, d.pending);
  d.needFull ||= taken.needFull;
  d.needCatchUp ||= taken.needCatchUp;
  if (taken.backfillCalendarIds.length)
    d.backfillCalendarIds = union(d.backfillCalendarIds, taken.backfillCalendarIds);
  if (f.cls === 'not_registered') {
    d.deregister = { purge: false };
    return null;
  }
  return recordFailure(d, f, now);
}

/**
 * After a transient sync failure: the whole retry window passed with Cronofy failing, so the
 * channel may have been closed by Cronofy meanwhile (our pushes may have failed too). Recreate it
 * and re-read everything. Applied once the degraded state is recorded.
 */
export function assumeChannelLost(d: AccountData): void {
  d.needChannel = true;
  d.needFull = true;
  d.pending = noPendingChanges();
}

// --- Channel --------------------------------------------------------------------------------

/**
 * The account's registered calendars as an activity read them (`null`: all). Calendars added are
 * backfilled; calendars removed are pruned (their events become tombstones). Returns whether the
 * registration differed from what the workflow knew.
 */
export function applyRegisteredCalendars(d: AccountData, calendarIds: string[] | null): boolean {
  const changed = d.calendarIds !== undefined && !sameCalendarSet(d.calendarIds, calendarIds);
  // Calendars added to the registration: their events changed before the watermark would never
  // arrive by catch-up, so they are read in full (all calendars when the filter was lifted).
  const added = d.calendarIds === undefined ? [] : addedCalendars(d.calendarIds, calendarIds);
  if (added === 'all') d.needFull = true;
  else if (added.length) d.backfillCalendarIds = union(d.backfillCalendarIds, added);
  // A pruning still to do follows the newest registration: a calendar added back since must keep
  // its events, and with no filter left nothing is pruned.
  if (d.keepOnlyCalendarIds) d.keepOnlyCalendarIds = calendarIds;
  // Calendars removed: their events are no longer synced, so they must not stay live (stale).
  if (d.calendarIds !== undefined && calendarIds !== null && removesCalendars(d.calendarIds, calendarIds)) {
    d.keepOnlyCalendarIds = calendarIds;
    d.backfillCalendarIds = (d.backfillCalendarIds ?? []).filter((c) => calendarIds?.includes(c));
  }
  d.calendarIds = calendarIds;
  return changed;
}

function sameCalendarSet(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((c) => b.includes(c));
}

/**
 * The channel is there. After failures retried apart from the syncs (`channelRetry`), an account
 * degraded only by them is active again; returns that state, if any.
 */
export function applyChannelEnsured(
  d: AccountData,
  res: { channelId: string; created: boolean; calendarIds?: string[] | null },
  now: number,
): SyncState | null {
  if (res.calendarIds !== undefined) applyRegisteredCalendars(d, res.calendarIds);
  const replaced = d.channelId !== null && d.channelId !== res.channelId;
  d.channelId = res.channelId;
  d.channelConfirmedAt = now;
  d.needChannel = false;
  if (d.staleCallbackUrls?.length) d.staleCallbackUrls = [];
  // A new channel means pushes may have been missed while the old one was gone.
  if (replaced || res.created) d.needCatchUp = d.needCatchUp || d.watermark !== null;
  if (!d.channelRetry) return null;
  d.channelRetry = null;
  return d.state === 'degraded' && d.failingSince === null && !d.unrecorded ? 'active' : null;
}

/**
 * Creating or finding the channel failed. `not_registered` ends the account. Otherwise the account
 * is degraded and, with `apart` (runs from after the `channel-retry-apart` patch), the channel is
 * retried on its own backoff while syncs go on; before, the failure held up every sync.
 */
export function applyChannelFailure(
  d: AccountData,
  f: ClassifiedFailure,
  now: number,
  apart = false,
): SyncState | null {
  if (f.cls === 'not_registered') {
    d.deregister = { purge: false };
    return null;
  }
  if (!apart) return recordFailure(d, { cls: f.cls, message: `channel: ${f.message}` }, now);
  const attempts = (d.channelRetry?.attempts ?? 0) + 1;
  d.channelRetry = { attempts, at: now + failureRetryDelay(attempts) };
  d.lastError = { message: `channel: ${f.message}`, type: f.cls, at: new Date(now).toISOString() };
  return d.state === 'active' ? 'degraded' : null;
}

export function applyChannelChecked(d: AccountData, open: boolean, now: number): SyncState | null {
  if (open) d.channelConfirmedAt = now;
  else {
    // Cronofy closed it (after 24 h of failed deliveries): recreate, then catch up what was missed.
    d.needChannel = true;
    d.needCatchUp = true;
  }
  return recover(d);
}

/** The periodic channel check failed: degraded, and checked again after the backoff. */
export function applyChannelCheckFailure(d: AccountData, f: ClassifiedFailure, now: number): SyncState {
  return recordFailure(d, { cls: f.cls, message: `channel check: ${f.message}` }, now);
}

// --- Authorization ----------------------------------------------------------------------------

/** Authorization failed for the whole retry window: the channel is closed, wait for new tokens. */
export function applyDisconnect(d: AccountData): SyncState {
  d.channelId = null;
  d.retryAt = null;
  return 'disconnected';
}

/** New tokens after a disconnect: start over with a new channel and a full read. */
export function applyReconnect(d: AccountData): SyncState {
  d.tokensUpdated = false;
  d.failingSince = null;
  d.failures = 0;
  d.retryAt = null;
  d.needChannel = true;
  d.needFull = true;
  return 'active';
}

export function applyDeregistered(d: AccountData): void {
  d.state = 'closed';
  d.channelId = null;
}

// --- Settings -------------------------------------------------------------------------------

/** How often a running workflow takes the worker's settings again (at its next wake-up after). */
export const SETTINGS_REFRESH_MS = 3_600_000;

/** The settings a workflow runs on: from its input at first, then from the worker. */
export interface Settings {
  timings: SyncTimings;
  callbackUrl: string;
}

export function settingsStale(d: AccountData, now: number): boolean {
  return d.settingsAt == null || now - d.settingsAt >= SETTINGS_REFRESH_MS;
}

/**
 * Applies the worker's current settings. A changed interval moves that timer to the new grid; a
 * changed callback URL (PUBLIC_URL) asks for a new channel and remembers the old URL, whose channel
 * is closed then. Returns the settings to run on.
 */
export function applySettings(
  d: AccountData,
  current: Settings,
  next: WorkerSettings,
  now: number,
): Settings {
  d.settingsAt = now;
  const t = next.timings;
  if (t.fullSyncIntervalMs !== current.timings.fullSyncIntervalMs) {
    d.nextFullSyncAt = nextFullSyncAt(d.accountId, now, t.fullSyncIntervalMs);
  }
  if (t.windowEdgeIntervalMs !== current.timings.windowEdgeIntervalMs) {
    d.nextWindowEdgeAt = nextWindowEdgeAt(d.accountId, now, t.windowEdgeIntervalMs);
  }
  const callbackUrl = next.callbackUrl ?? current.callbackUrl;
  if (callbackUrl !== current.callbackUrl) {
    d.needChannel = true;
    d.staleCallbackUrls = [...(d.staleCallbackUrls ?? []), current.callbackUrl];
  }
  return { timings: t, callbackUrl };
}

// --- Profiles -------------------------------------------------------------------------------

/**
 * What UserInfo says of the profiles. `profileDisconnected` (set by the push) is cleared once every
 * profile is connected again: the status no longer claims a disconnection Cronofy has healed.
 */
export function applyProfiles(d: AccountData, profiles: ProfileState[]): void {
  d.needProfiles = false;
  d.profiles = profiles;
  if (profiles.every((p) => p.connected)) d.profileDisconnected = null;
}

// --- Bookkeeping ----------------------------------------------------------------------------

/**
 * A MongoDB write failed for its whole retry window (MongoDB down for over an hour). The workflow
 * lives on (its watermark and timers are the account's sync): what `accounts` should say is redone
 * later, and an active account shows as degraded meanwhile (in memory and in the search attribute,
 * since recording it is what failed). Returns the state to show, if it changes.
 */
export function applyBookkeepingFailure(d: AccountData, f: ClassifiedFailure, now: number): SyncState | null {
  const attempts = (d.unrecorded?.attempts ?? 0) + 1;
  d.unrecorded = { since: d.unrecorded?.since ?? now, attempts, retryAt: now + failureRetryDelay(attempts) };
  d.lastError = {
    message: `bookkeeping: ${f.message}`,
    type: 'bookkeeping',
    at: new Date(now).toISOString(),
  };
  return d.state === 'active' ? 'degraded' : null;
}

/** The account's state and channel are recorded again; degraded only by bookkeeping → active. */
export function applyRecorded(d: AccountData): SyncState | null {
  d.unrecorded = null;
  return d.state === 'degraded' && d.failingSince === null ? 'active' : null;
}

// --- Calendars ------------------------------------------------------------------------------

/** What `next` adds to `prev` (`null` = every calendar): some ids, or `all` when the filter was lifted. */
export function addedCalendars(
  prev: readonly string[] | null,
  next: readonly string[] | null,
): string[] | 'all' {
  if (next === null) return prev === null ? [] : 'all';
  if (prev === null) return [];
  return next.filter((c) => !prev.includes(c));
}

/** Whether `next` (a list) leaves out a calendar `prev` (`null` = every calendar) had. */
export function removesCalendars(prev: readonly string[] | null, next: readonly string[]): boolean {
  return prev === null || prev.some((c) => !next.includes(c));
}

function union(a: readonly string[] | undefined, b: readonly string[]): string[] {
  return [...new Set([...(a ?? []), ...b])];
}

// --- Failures -------------------------------------------------------------------------------

function recordFailure(d: AccountData, f: ClassifiedFailure, now: number): SyncState {
  d.failingSince ??= now;
  d.failures += 1;
  d.retryAt = now + failureRetryDelay(d.failures);
  d.lastError = { message: f.message, type: f.cls, at: new Date(now).toISOString() };
  return 'degraded';
}

/** A Cronofy call succeeded: failures are over; a degraded account is active again. */
function recover(d: AccountData): SyncState | null {
  d.failingSince = null;
  d.failures = 0;
  d.retryAt = null;
  // Still degraded while the channel cannot be created (no pushes arrive).
  return d.state === 'degraded' && !d.channelRetry ? 'active' : null;
}

// --- Channel check ---------------------------------------------------------------------------

export function channelCheckDueAt(d: AccountData, t: SyncTimings): number | null {
  if (!d.channelId) return null;
  const lastSign = Math.max(d.lastNotificationAt ?? 0, d.channelConfirmedAt ?? 0);
  return lastSign + t.channelCheckIntervalMs;
}
