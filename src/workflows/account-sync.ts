/**
 * `accountSync`: one long-running workflow per Cronofy account (id `cronofy-account:<accountId>`).
 *
 * Shape (after temporalio/samples-typescript safe_message_handlers): handlers only record messages
 * into `AccountData`; the main loop asks the pure planner (`plan.ts`) for the next step, carries it
 * out with activities and timers, and continues-as-new when Temporal suggests it. Event data never
 * enters this workflow: activities write it to MongoDB and return counts only.
 */

import { defineSearchAttributeKey } from '@temporalio/common';
import {
  ActivityFailure,
  type ActivityOptions,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { addChange, mergePending, noPendingChanges } from './debounce.js';
import {
  type AccountStatus,
  deregisterSignal,
  type NotificationSignal,
  notificationSignal,
  requestSyncSignal,
  type SyncInput,
  type SyncKind,
  type SyncResult,
  type SyncState,
  type SyncTimings,
  statusQuery,
  syncNowUpdate,
  tokensUpdatedSignal,
} from './messages.js';
import { type AccountData, channelCheckDueAt, planNext, type Step } from './plan.js';
import { failureRetryDelay, nextFullSyncAt, nextWindowEdgeAt } from './schedule.js';
import { renderDetails } from './status.js';

type Activities = ReturnType<typeof createActivities>;

export const CronofyAccountId = defineSearchAttributeKey('CronofyAccountId', 'KEYWORD');
export const CronofySyncState = defineSearchAttributeKey('CronofySyncState', 'KEYWORD');
export const CronofyLastSyncAt = defineSearchAttributeKey('CronofyLastSyncAt', 'DATETIME');

export interface AccountSyncInput {
  accountId: string;
  timings: SyncTimings;
  callbackUrl: string;
  /** State carried over by continue-as-new. */
  carried?: AccountData;
  /** Off only where the server has no custom search attributes registered. */
  searchAttributes?: boolean;
  /**
   * Continue-as-new once history reaches this many events, besides Temporal's own suggestion
   * (~4K events / 4 MiB). Lower it to keep histories short for replay or to test the handover.
   */
  historyLimit?: number;
  /**
   * Sync activities carry a task priority (notification-driven first). Off only for servers that
   * do not dispatch prioritised tasks: the time-skipping test server 1.40 never hands them out.
   */
  taskPriorities?: boolean;
}

export interface AccountSyncOutcome {
  accountId: string;
  state: SyncState;
  reason: 'deregistered' | 'not_registered';
}

const NON_RETRYABLE = ['CronofyAuthRevokedError', 'CronofyClientError', 'AccountNotRegistered'];

const PRIORITY: Record<SyncInput['trigger'], number> = {
  notification: 1,
  manual: 1,
  recovery: 2,
  schedule: 3,
};

function activitiesFor(t: SyncTimings, priorities: boolean) {
  const retry: ActivityOptions['retry'] = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    // Capped so a day-long outage costs ~150 attempts, not thousands; Retry-After overrides it.
    maximumInterval: '10m',
    nonRetryableErrorTypes: NON_RETRYABLE,
  };
  // A sync may page through thousands of events: one attempt is bounded and heartbeats its page
  // cursor, so a retry resumes. All attempts together get the sync retry window (24 h default).
  const syncOptions: ActivityOptions = {
    startToCloseTimeout: '15m',
    // A worker that dies mid-sync is noticed within this; the retry resumes from the heartbeat.
    heartbeatTimeout: '30s',
    scheduleToCloseTimeout: t.syncRetryWindowMs,
    retry,
  };
  return {
    /**
     * One proxy per sync, so its summary labels the Web UI timeline and its priority lets the
     * server hand notification-driven syncs to workers before periodic ones (lower key first).
     */
    syncFor: (summary: string, trigger: SyncInput['trigger']) =>
      proxyActivities<Activities>({
        ...syncOptions,
        summary,
        ...(priorities ? { priority: { priorityKey: PRIORITY[trigger] } } : {}),
      }),
    // Channel calls are single requests; a shorter window keeps deregister and status responsive
    // when Cronofy is down (the loop retries them later with backoff).
    channel: proxyActivities<Activities>({ startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry }),
    // MongoDB-only bookkeeping.
    store: proxyActivities<Activities>({
      startToCloseTimeout: '30s',
      scheduleToCloseTimeout: '1h',
      retry: { ...retry, maximumInterval: '1m' },
    }),
  };
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
    failingSince: null,
    failures: 0,
    retryAt: null,
    lastError: null,
    profileDisconnected: null,
    tokensUpdated: false,
    deregister: null,
    ignoredNotifications: 0,
  };
}

type FailureClass = 'auth' | 'client' | 'transient' | 'not_registered';

function classify(err: unknown): { cls: FailureClass; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const status = (cause.details?.[0] as { status?: number } | undefined)?.status;
    if (cause.type === 'AccountNotRegistered') return { cls: 'not_registered', message: cause.message };
    if (cause.type === 'CronofyAuthRevokedError' || (cause.type === 'CronofyClientError' && status === 403)) {
      return { cls: 'auth', message: cause.message };
    }
    if (cause.type === 'CronofyClientError') return { cls: 'client', message: cause.message };
    return { cls: 'transient', message: cause.message };
  }
  if (cause instanceof TimeoutFailure)
    return { cls: 'transient', message: `timed out (${cause.timeoutType})` };
  return { cls: 'transient', message: err instanceof Error ? err.message : String(err) };
}

/** What the loop is waiting for, for the timer's label in the Web UI. */
function nextDueLabel(s: AccountStatus): string {
  const due: [string, string | null][] = [
    ['debounced sync', s.pending.syncDueAt],
    ['full sync', s.nextFullSyncAt],
    ['window-edge sync', s.nextWindowEdgeSyncAt],
    ['channel check', s.nextChannelCheckAt],
  ];
  const next = due
    .filter((d): d is [string, string] => d[1] !== null)
    .sort((a, b) => a[1].localeCompare(b[1]))[0];
  return next ? next[0] : 'a message';
}

/** Binds every handler to one state object; all of them only record, the loop does the work. */
class AccountSync {
  readonly d: AccountData;
  running: SyncKind | null = null;
  private wake = false;
  readonly results = new Map<
    string,
    { ok: SyncResult } | { error: string; type: 'SyncFailed' | 'AccountDeregistered' }
  >();

  constructor(readonly input: AccountSyncInput) {
    this.d = input.carried ?? initialData(input.accountId);

    setHandler(notificationSignal, (n) => this.onNotification(n));
    setHandler(requestSyncSignal, (r) => {
      this.d.requests.push({ id: uuid4(), mode: r.mode });
      this.poke();
    });
    setHandler(tokensUpdatedSignal, () => {
      // Only meaningful when authorization is failing or gone: set while healthy, the flag would
      // turn a later disconnect straight into a reconnect with the same bad tokens.
      if (this.d.state === 'disconnected' || this.d.failingSince !== null) this.d.tokensUpdated = true;
      // New tokens or settings (re-registration may change the calendars): re-check the channel,
      // which replaces it if its calendar filter no longer matches. One List Channels call.
      else if (this.d.initialized) this.d.needChannel = true;
      this.poke();
    });
    setHandler(deregisterSignal, (r) => {
      this.d.deregister = r;
      this.poke();
    });
    setHandler(statusQuery, () => this.status());
    setHandler(
      syncNowUpdate,
      async (r) => {
        const id = uuid4();
        this.d.requests.push({ id, mode: r.mode });
        this.poke();
        await condition(() => this.results.has(id));
        const res = this.results.get(id)!;
        this.results.delete(id);
        if ('error' in res)
          throw ApplicationFailure.create({ type: res.type, message: res.error, nonRetryable: true });
        return res.ok;
      },
      {
        validator: (r) => {
          if (r?.mode !== 'incremental' && r?.mode !== 'full')
            throw new Error('mode must be incremental or full');
          if (this.d.deregister || this.d.state === 'closed')
            throw new Error('account is being deregistered');
        },
      },
    );
  }

  private onNotification(n: NotificationSignal): void {
    const now = Date.now();
    // A push for a channel that is not ours (an old one Cronofy still delivers, or a forged id that
    // passed HMAC as a replay) changes nothing; counted so operators can see it.
    if (n.channelId && this.d.channelId && n.channelId !== this.d.channelId) {
      this.d.ignoredNotifications += 1;
      return;
    }
    switch (n.type) {
      case 'change':
        this.d.pending = addChange(this.d.pending, {
          changesSince: n.changesSince,
          at: now,
          receivedAt: n.receivedAt,
        });
        break;
      case 'profile_disconnected':
        this.d.profileDisconnected = { at: n.receivedAt };
        break;
      case 'profile_initial_sync_completed':
        this.d.needFull = true;
        break;
      case 'verification':
        break;
      default:
        // Cronofy says new types may appear: acknowledge and ignore.
        this.d.ignoredNotifications += 1;
        return;
    }
    this.d.lastNotificationAt = now;
    this.poke();
  }

  poke(): void {
    this.wake = true;
  }

  hasWake(): boolean {
    return this.wake;
  }

  takeWake(): boolean {
    const w = this.wake;
    this.wake = false;
    return w;
  }

  status(): AccountStatus {
    const d = this.d;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      accountId: d.accountId,
      state: d.state,
      channel: {
        id: d.channelId,
        lastNotificationAt: iso(d.lastNotificationAt),
        lastCheckedAt: iso(d.channelConfirmedAt),
      },
      lastSyncs: d.lastSyncs,
      lastSuccessfulSyncAt: d.lastSuccessfulSyncAt,
      watermark: d.watermark,
      pending: {
        notifications: d.pending.count,
        earliestChangesSince: d.pending.earliestChangesSince,
        firstPendingAt: iso(d.pending.firstAt),
        requested: d.requests.map((r) => r.mode),
        syncDueAt:
          d.pending.firstAt === null || d.pending.lastAt === null
            ? null
            : iso(
                Math.min(
                  d.pending.lastAt + this.input.timings.debounceQuietMs,
                  d.pending.firstAt + this.input.timings.debounceMaxMs,
                ),
              ),
      },
      running: this.running,
      nextFullSyncAt: iso(d.nextFullSyncAt),
      nextWindowEdgeSyncAt: iso(d.nextWindowEdgeAt),
      nextChannelCheckAt: iso(channelCheckDueAt(d, this.input.timings)),
      failingSince: iso(d.failingSince),
      lastError: d.lastError,
      profileDisconnected: d.profileDisconnected,
    };
  }
}

export async function accountSync(input: AccountSyncInput): Promise<AccountSyncOutcome> {
  const wf = new AccountSync(input);
  const d = wf.d;
  const t = input.timings;
  const acts = activitiesFor(t, input.taskPriorities !== false);
  const useSearchAttributes = input.searchAttributes !== false;

  const publish = (): void => {
    setCurrentDetails(renderDetails(wf.status()));
  };
  const setState = async (state: SyncState): Promise<void> => {
    if (d.state !== state) {
      d.state = state;
      await acts.store.recordAccountState({ accountId: d.accountId, state });
    }
    if (useSearchAttributes) upsertSearchAttributes([{ key: CronofySyncState, value: state }]);
  };
  const fail = (cls: FailureClass, message: string): void => {
    const now = Date.now();
    d.failingSince ??= now;
    d.failures += 1;
    d.retryAt = now + failureRetryDelay(d.failures);
    d.lastError = { message, type: cls, at: new Date(now).toISOString() };
  };
  const recovered = async (): Promise<void> => {
    d.failingSince = null;
    d.failures = 0;
    d.retryAt = null;
    if (d.state === 'degraded') await setState('active');
  };

  if (useSearchAttributes) {
    upsertSearchAttributes([
      { key: CronofyAccountId, value: d.accountId },
      { key: CronofySyncState, value: d.state },
    ]);
  }

  if (!d.initialized) {
    const info = await acts.store.loadAccount({ accountId: d.accountId });
    if (!info.registered) {
      // A notification for an account we do not know (deregistered, or never registered):
      // nothing to sync. The receiver acknowledged it; the workflow just ends.
      d.state = 'closed';
      if (useSearchAttributes) upsertSearchAttributes([{ key: CronofySyncState, value: 'closed' }]);
      log.info('account not registered; workflow ends', { accountId: d.accountId });
      return { accountId: d.accountId, state: 'closed', reason: 'not_registered' };
    }
    d.channelId = info.channelId || null;
    d.needChannel = true;
    d.initialized = true;
  }
  const now0 = Date.now();
  d.nextFullSyncAt ??= nextFullSyncAt(d.accountId, now0, t.fullSyncIntervalMs);
  d.nextWindowEdgeAt ??= nextWindowEdgeAt(d.accountId, now0, t.windowEdgeIntervalMs);
  publish();

  const runSync = async (step: Extract<Step, { kind: 'sync' }>): Promise<void> => {
    const taken = step.takesPending ? d.pending : noPendingChanges();
    if (step.takesPending) d.pending = noPendingChanges();
    const takenRequests = d.requests.filter((r) => step.requestIds.includes(r.id));
    d.requests = d.requests.filter((r) => !step.requestIds.includes(r.id));
    const wasNeedFull = d.needFull;
    const wasNeedCatchUp = d.needCatchUp;
    if (step.sync === 'full') d.needFull = false;
    if (step.sync === 'catch_up' || step.sync === 'full') d.needCatchUp = false;
    wf.running = step.sync;
    publish();
    try {
      const summary = `${step.sync.replace('_', '-')} sync (${step.trigger})${step.lastModified ? ` since ${step.lastModified}` : ''}`;
      const result = await acts.syncFor(summary, step.trigger).syncEvents({
        accountId: d.accountId,
        kind: step.sync,
        lastModified: step.lastModified,
        trigger: step.trigger,
        notificationReceivedAt: taken.earliestReceivedAt ?? undefined,
      });
      const now = Date.now();
      d.lastSyncs[step.sync] = {
        kind: step.sync,
        at: result.finishedAt,
        upserted: result.upserted,
        deleted: result.deleted,
        pages: result.pages,
      };
      d.lastSuccessfulSyncAt = result.finishedAt;
      if (step.sync !== 'window_edge') d.watermark = result.watermark;
      if (step.sync === 'full') d.nextFullSyncAt = nextFullSyncAt(d.accountId, now, t.fullSyncIntervalMs);
      if (step.sync === 'window_edge')
        d.nextWindowEdgeAt = nextWindowEdgeAt(d.accountId, now, t.windowEdgeIntervalMs);
      for (const r of takenRequests) wf.results.set(r.id, { ok: result });
      if (useSearchAttributes) {
        upsertSearchAttributes([{ key: CronofyLastSyncAt, value: new Date(result.finishedAt) }]);
      }
      await recovered();
    } catch (err) {
      // Nothing taken is lost: pending changes and flags go back for the next attempt.
      d.pending = mergePending(taken, d.pending);
      d.needFull ||= wasNeedFull;
      d.needCatchUp ||= wasNeedCatchUp;
      const { cls, message } = classify(err);
      for (const r of takenRequests) wf.results.set(r.id, { error: message, type: 'SyncFailed' });
      log.warn('sync failed', { accountId: d.accountId, kind: step.sync, cls, message });
      if (cls === 'not_registered') {
        d.deregister = { purge: false };
        return;
      }
      fail(cls, message);
      await setState('degraded');
      if (cls === 'transient') {
        // The whole retry window passed with Cronofy failing: the channel may have been closed by
        // Cronofy meanwhile (our pushes may have failed too), so recreate it and re-read everything.
        d.needChannel = true;
        d.needFull = true;
        d.pending = noPendingChanges();
      }
    } finally {
      wf.running = null;
    }
  };

  const ensureChannel = async (): Promise<void> => {
    try {
      const res = await acts.channel.ensureChannel({
        accountId: d.accountId,
        callbackUrl: input.callbackUrl,
        currentChannelId: d.channelId,
      });
      const replaced = d.channelId !== null && d.channelId !== res.channelId;
      d.channelId = res.channelId;
      d.channelConfirmedAt = Date.now();
      d.needChannel = false;
      // A new channel means pushes may have been missed while the old one was gone.
      if (replaced || res.created) d.needCatchUp = d.needCatchUp || d.watermark !== null;
    } catch (err) {
      const { cls, message } = classify(err);
      if (cls === 'not_registered') {
        d.deregister = { purge: false };
        return;
      }
      fail(cls, `channel: ${message}`);
      await setState('degraded');
    }
  };

  for (;;) {
    const now = Date.now();
    const step = planNext(d, now, t);
    switch (step.kind) {
      case 'deregister': {
        // Answer waiting syncNow updates first, so that waiting for handlers cannot deadlock.
        for (const r of d.requests)
          wf.results.set(r.id, { error: 'account deregistered', type: 'AccountDeregistered' });
        d.requests = [];
        if (d.channelId) {
          try {
            await acts.channel.closeChannel({ accountId: d.accountId, channelId: d.channelId });
          } catch (err) {
            log.warn('closing channel on deregister failed', { message: classify(err).message });
          }
        }
        await acts.store.finishDeregistration({
          accountId: d.accountId,
          purge: d.deregister?.purge ?? false,
        });
        d.state = 'closed';
        d.channelId = null;
        if (useSearchAttributes) upsertSearchAttributes([{ key: CronofySyncState, value: 'closed' }]);
        publish();
        await condition(allHandlersFinished);
        return { accountId: d.accountId, state: 'closed', reason: 'deregistered' };
      }
      case 'disconnect': {
        // Authorization has failed for the whole retry window: stop Cronofy pushing to us and wait
        // for new tokens (PUT /accounts/:id/tokens). Closing may itself fail without a valid token.
        if (d.channelId) {
          try {
            await acts.channel.closeChannel({ accountId: d.accountId, channelId: d.channelId });
          } catch (err) {
            log.warn('closing channel on disconnect failed', { message: classify(err).message });
          }
        }
        d.channelId = null;
        d.retryAt = null;
        await acts.store.recordChannel({ accountId: d.accountId, channelId: null });
        await setState('disconnected');
        break;
      }
      case 'reconnect': {
        d.tokensUpdated = false;
        d.failingSince = null;
        d.failures = 0;
        d.retryAt = null;
        d.needChannel = true;
        d.needFull = true;
        await setState('active');
        break;
      }
      case 'ensureChannel':
        d.tokensUpdated = false;
        await ensureChannel();
        break;
      case 'checkChannel': {
        try {
          const res = await acts.channel.checkChannel({
            accountId: d.accountId,
            channelId: d.channelId ?? '',
          });
          if (res.open) {
            d.channelConfirmedAt = Date.now();
          } else {
            log.info('channel closed by Cronofy; recreating', {
              accountId: d.accountId,
              channelId: d.channelId,
            });
            d.needChannel = true;
            d.needCatchUp = true;
          }
          await recovered();
        } catch (err) {
          const { cls, message } = classify(err);
          fail(cls, `channel check: ${message}`);
          await setState('degraded');
        }
        break;
      }
      case 'sync':
        d.tokensUpdated = false;
        await runSync(step);
        break;
      case 'wait': {
        publish();
        // Only between steps and with no update waiting on the loop (an update handler awaits a
        // result this loop produces, so waiting for it here would deadlock). Signal handlers are
        // synchronous; whatever they recorded is in `d` and travels with it.
        const info = workflowInfo();
        const tooLong =
          info.continueAsNewSuggested ||
          (input.historyLimit !== undefined && info.historyLength >= input.historyLimit);
        if (tooLong && allHandlersFinished()) {
          await continueAsNew<typeof accountSync>({ ...input, carried: d });
        }
        if (wf.takeWake()) break;
        if (step.until === null) await condition(() => wf.hasWake());
        else {
          await condition(() => wf.hasWake(), Math.max(1, step.until - Date.now()), {
            summary: `wait until ${new Date(step.until).toISOString()} (${nextDueLabel(wf.status())})`,
          });
        }
        wf.takeWake();
        break;
      }
    }
  }
}
