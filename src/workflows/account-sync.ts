/**
 * `accountSync`: one long-running workflow per Cronofy account (id `cronofy-account:<accountId>`).
 *
 * Shape (after temporalio/samples-typescript safe_message_handlers): handlers only record messages
 * into the state (`state.ts`); the loop asks the pure planner (`plan.ts`) for the next step, runs
 * one activity or timer, and applies the outcome with a pure transition from `state.ts`. Event data
 * never enters this workflow: activities write it to MongoDB and return counts only.
 *
 * Replay: every change to the commands this file issues must be gated with `patched()` and a new
 * history recorded (test/workflow/histories/). Longer than our ~300 lines on purpose: it is the whole
 * command sequence (every activity, timer, patch and search-attribute upsert), kept in one file so a
 * change to it is seen whole; the decisions and state changes live in plan.ts and state.ts.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncState, SyncTimings } from '../domain.js';
import { activitiesFor } from './activity-options.js';
import { classifyFailure } from './failures.js';
import {
  type AccountSyncInput,
  type AccountSyncOutcome,
  type AccountSyncTestOptions,
  testOptions,
} from './input.js';
import {
  type AccountStatus,
  deregisterSignal,
  notificationSignal,
  requestSyncSignal,
  type SyncKind,
  type SyncResult,
  statusQuery,
  syncNowUpdate,
  tokensUpdatedSignal,
} from './messages.js';
import { planNext, type Step } from './plan.js';
import { failureRetryDelay } from './schedule.js';
import { CronofyAccountId, CronofyLastSyncAt, CronofySyncState } from './search-attributes.js';
import * as S from './state.js';
import { nextDueLabel, renderDetails, statusOf } from './status.js';

type SyncStep = Extract<Step, { kind: 'sync' }>;

/** Patch: MongoDB bookkeeping that fails for its whole retry window no longer fails the workflow. */
const BOOKKEEPING_SURVIVES = 'bookkeeping-failure-degrades';
/** Patch: a channel that cannot be created is retried apart, without holding up the syncs. */
const CHANNEL_RETRY_APART = 'channel-retry-apart';
/** Patch: full syncs from `profile_initial_sync_completed` pushes are bounded per account. */
const PUSH_FULL_SYNCS_BOUNDED = 'push-full-syncs-bounded';
/**
 * A sync's result carries the registration it ended with: removed calendars are pruned (and added
 * ones backfilled) after the sync, not only once the channel is ensured, which can keep failing.
 */
const CALENDARS_FROM_SYNCS = 'calendars-from-syncs';
/** Patch: a run for an account we no longer have closes the channel that pushed for it. */
const CLOSE_ORPHAN_CHANNEL = 'close-orphan-channel';
/** Patch: new tokens re-check the channel (its calendar filter) while the account is failing too. */
const CHANNEL_RECHECK_WHILE_FAILING = 'channel-recheck-while-failing';
/** Patch: profile state comes from Cronofy's UserInfo (at registration and on profile pushes). */
const PROFILES_FROM_USERINFO = 'profiles-from-userinfo';
/** Patch: settings come from the worker's configuration, not only from the frozen input. */
const SETTINGS_FROM_WORKER = 'settings-from-worker';
type RequestResult = { ok: SyncResult } | { error: string; type: 'SyncFailed' | 'AccountDeregistered' };

/**
 * Binds every handler to one state object (handlers only record; the loop does the work) and
 * carries out each kind of step: the activity or timer, then the pure transition from `state.ts`.
 */
class AccountSync {
  readonly d: S.AccountData;
  /** Settings in force: from the input, then refreshed from the worker (`refreshSettings`). */
  t: SyncTimings;
  private callbackUrl: string;
  private readonly opts: AccountSyncTestOptions;
  private acts: ReturnType<typeof activitiesFor>;
  private running: SyncKind | null = null;
  /** The channel the latest push came through: closed if it pushes for an account we no longer have. */
  private pushChannelId: string | null = null;
  private wake = false;
  private readonly results = new Map<string, RequestResult>();

  constructor(private readonly input: AccountSyncInput) {
    this.d = input.carried ?? S.initialData(input.accountId);
    this.t = input.timings;
    this.callbackUrl = input.callbackUrl;
    this.opts = testOptions(input);
    this.acts = activitiesFor(this.t, this.opts.taskPriorities !== false);

    setHandler(notificationSignal, (n) => {
      if (n.channelId) this.pushChannelId = n.channelId;
      // Runs recorded before this patch took every such push as a full sync.
      const bounded = () => patched(PUSH_FULL_SYNCS_BOUNDED);
      const profiles = () => patched(PROFILES_FROM_USERINFO);
      if (S.recordNotification(this.d, n, Date.now(), bounded, profiles)) this.wake = true;
    });
    setHandler(requestSyncSignal, (r) => {
      this.d.requests.push({ id: uuid4(), mode: r.mode });
      this.wake = true;
    });
    setHandler(tokensUpdatedSignal, () => {
      // Runs recorded before this patch did not re-check the channel while failing.
      S.recordTokensUpdated(this.d, () => patched(CHANNEL_RECHECK_WHILE_FAILING));
      this.wake = true;
    });
    setHandler(deregisterSignal, (r) => {
      this.d.deregister = r;
      this.wake = true;
    });
    setHandler(statusQuery, () => this.status());
    setHandler(syncNowUpdate, (r) => this.syncNow(r.mode), {
      validator: (r) => {
        if (r?.mode !== 'incremental' && r?.mode !== 'full')
          throw new Error('mode must be incremental or full');
        if (this.d.deregister || this.d.state === 'closed') throw new Error('account is being deregistered');
      },
    });
    if (this.searchAttributes) {
      upsertSearchAttributes([
        { key: CronofyAccountId, value: this.d.accountId },
        { key: CronofySyncState, value: this.d.state },
      ]);
    }
  }

  private get searchAttributes(): boolean {
    return this.opts.searchAttributes !== false;
  }

  status(): AccountStatus {
    return statusOf(this.d, this.running, this.t);
  }

  private publish(): void {
    setCurrentDetails(renderDetails(this.status()));
  }

  /** The `syncNow` update: queues a request and waits for the sync that answers it. */
  private async syncNow(mode: S.QueuedRequest['mode']): Promise<SyncResult> {
    const id = uuid4();
    this.d.requests.push({ id, mode });
    this.wake = true;
    await condition(() => this.results.has(id));
    const res = this.results.get(id)!;
    this.results.delete(id);
    if ('error' in res)
      throw ApplicationFailure.create({ type: res.type, message: res.error, nonRetryable: true });
    return res.ok;
  }

  /** Records a state the transition asked for: `accounts.state` when it changed, the search attribute. */
  private async enter(state: SyncState | null): Promise<void> {
    if (state === null) return;
    if (this.d.state !== state) {
      this.d.state = state;
      const { accountId } = this.d;
      await this.bookkeeping(() => this.acts.store.recordAccountState({ accountId, state }));
    }
    // `d.state`, not `state`: a failed recording may have shown the account degraded instead.
    if (this.searchAttributes) upsertSearchAttributes([{ key: CronofySyncState, value: this.d.state }]);
  }

  /**
   * A MongoDB-only activity. Failing for its whole retry window (MongoDB down for over an hour)
   * must not end the workflow, which holds the account's watermark and timers: the account shows
   * degraded and the `record` step redoes the bookkeeping later. False when it failed.
   */
  private async bookkeeping(write: () => Promise<void>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (err) {
      // Runs recorded before this patch failed here; they must replay that way.
      if (!patched(BOOKKEEPING_SURVIVES)) throw err;
      const f = classifyFailure(err);
      log.warn('bookkeeping failed; retried later', { accountId: this.d.accountId, message: f.message });
      const shown = S.applyBookkeepingFailure(this.d, f, Date.now());
      if (shown) {
        this.d.state = shown;
        if (this.searchAttributes) upsertSearchAttributes([{ key: CronofySyncState, value: shown }]);
      }
      return false;
    }
  }

  /** Redoes failed bookkeeping: the account's channel and state as the workflow knows them. */
  async record(): Promise<void> {
    const { accountId, channelId } = this.d;
    const ok = await this.bookkeeping(async () => {
      await this.acts.store.recordChannel({ accountId, channelId });
      await this.acts.store.recordAccountState({ accountId, state: this.d.state });
    });
    if (ok) await this.enter(S.applyRecorded(this.d));
  }

  private closed(): void {
    if (this.searchAttributes) upsertSearchAttributes([{ key: CronofySyncState, value: 'closed' }]);
  }

  /**
   * Takes the worker's current settings (intervals, PUBLIC_URL) at the first wake-up an hour or more
   * after the last time, so configuration changes reach accounts registered before them.
   */
  async refreshSettings(): Promise<void> {
    // Runs recorded before this patch never asked; they must replay that way.
    if (!S.settingsStale(this.d, Date.now()) || !patched(SETTINGS_FROM_WORKER)) return;
    try {
      const next = await this.acts.settings.workerSettings({ accountId: this.d.accountId });
      const applied = S.applySettings(
        this.d,
        { timings: this.t, callbackUrl: this.callbackUrl },
        next,
        Date.now(),
      );
      this.t = applied.timings;
      this.callbackUrl = applied.callbackUrl;
      this.acts = activitiesFor(this.t, this.opts.taskPriorities !== false);
    } catch (err) {
      // Not worth degrading for: the settings in force stay, and the next wake-up asks again.
      log.warn('reading the worker settings failed', { message: classifyFailure(err).message });
      this.d.settingsAt = Date.now();
    }
  }

  /** First run: loads the registration. False when the account is not registered (nothing to do). */
  async start(): Promise<boolean> {
    const d = this.d;
    if (!d.initialized) {
      const info = await this.loadAccount();
      if (!info.registered) {
        // A channel still pushing for an account that is gone (its close failed at deregistration):
        // close it now, or every push would start a run like this one for as long as Cronofy pushes.
        if (this.pushChannelId && patched(CLOSE_ORPHAN_CHANNEL)) {
          d.channelId = this.pushChannelId;
          await this.closeChannelQuietly('deregister');
          d.channelId = null;
        }
        d.state = 'closed';
        this.closed();
        return false;
      }
      S.initialize(d, info.channelId || null, info.calendarIds);
      // A new account: read its profiles once (runs from before the patch never did).
      if (patched(PROFILES_FROM_USERINFO)) d.needProfiles = true;
    }
    S.scheduleTimers(d, Date.now(), this.t);
    this.publish();
    return true;
  }

  /** The registration; retried with backoff for as long as MongoDB fails (see `bookkeeping`). */
  private async loadAccount() {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.acts.store.loadAccount({ accountId: this.d.accountId });
      } catch (err) {
        if (!patched(BOOKKEEPING_SURVIVES)) throw err;
        log.warn('loading the account failed; retried later', { message: classifyFailure(err).message });
        await sleep(failureRetryDelay(attempt));
      }
    }
  }

  async sync(step: SyncStep): Promise<void> {
    const d = this.d;
    S.useTokens(d);
    const taken = S.startSync(d, step);
    this.running = step.sync;
    this.publish();
    try {
      const summary = `${step.sync.replace('_', '-')} sync (${step.trigger})${step.lastModified ? ` since ${step.lastModified}` : ''}`;
      const result = await this.acts.syncFor(summary, step.trigger).syncEvents({
        accountId: d.accountId,
        kind: step.sync,
        lastModified: step.lastModified,
        trigger: step.trigger,
        notificationReceivedAt: taken.pending.earliestReceivedAt ?? undefined,
        ...(step.windowReadTo ? { windowReadTo: step.windowReadTo } : {}),
        ...(step.calendarIds ? { calendarIds: step.calendarIds } : {}),
      });
      const next = S.applySyncResult(d, step.sync, result, Date.now(), this.t, {
        backfill: !!step.calendarIds,
        // Runs recorded before this patch learned the registration only from ensureChannel.
        calendarsFromSync: result.registeredCalendarIds !== undefined && patched(CALENDARS_FROM_SYNCS),
      });
      for (const r of taken.requests) this.results.set(r.id, { ok: result });
      if (this.searchAttributes) {
        upsertSearchAttributes([{ key: CronofyLastSyncAt, value: new Date(result.finishedAt) }]);
      }
      await this.enter(next);
    } catch (err) {
      const f = classifyFailure(err);
      for (const r of taken.requests) this.results.set(r.id, { error: f.message, type: 'SyncFailed' });
      log.warn('sync failed', { accountId: d.accountId, kind: step.sync, cls: f.cls, message: f.message });
      await this.enter(S.applySyncFailure(d, taken, f, Date.now()));
      if (f.cls === 'transient') S.assumeChannelLost(d);
    } finally {
      this.running = null;
    }
  }

  async ensureChannel(): Promise<void> {
    // New tokens while failing re-check the channel first (patch below); the sync they were sent
    // for must still skip the failure backoff afterwards, as it did before that patch.
    const newTokensWhileFailing = this.d.tokensUpdated && this.d.failingSince !== null;
    S.useTokens(this.d);
    try {
      const res = await this.acts.channel.ensureChannel({
        accountId: this.d.accountId,
        callbackUrl: this.callbackUrl,
        currentChannelId: this.d.channelId,
        ...(this.d.staleCallbackUrls?.length ? { staleCallbackUrls: this.d.staleCallbackUrls } : {}),
      });
      await this.enter(S.applyChannelEnsured(this.d, res, Date.now()));
      if (newTokensWhileFailing && patched(CHANNEL_RECHECK_WHILE_FAILING)) this.d.tokensUpdated = true;
    } catch (err) {
      const f = classifyFailure(err);
      // Runs recorded before this patch let a failing channel hold up every sync.
      const apart = f.cls !== 'not_registered' && patched(CHANNEL_RETRY_APART);
      await this.enter(S.applyChannelFailure(this.d, f, Date.now(), apart));
    }
  }

  /** Calendars removed from the registration: their stored events become tombstones. */
  async pruneCalendars(keepCalendarIds: string[]): Promise<void> {
    const { accountId } = this.d;
    const done = await this.bookkeeping(async () => {
      await this.acts.store.tombstoneOtherCalendars({ accountId, keepCalendarIds });
    });
    if (done) this.d.keepOnlyCalendarIds = null;
  }

  /** Profiles are for the status: a failure is logged and left for the next profile push. */
  async checkProfiles(): Promise<void> {
    try {
      S.applyProfiles(this.d, await this.acts.channel.profileStates({ accountId: this.d.accountId }));
    } catch (err) {
      this.d.needProfiles = false;
      log.warn('reading the profiles failed', { message: classifyFailure(err).message });
    }
  }

  async checkChannel(): Promise<void> {
    try {
      const { open } = await this.acts.channel.checkChannel({
        accountId: this.d.accountId,
        channelId: this.d.channelId ?? '',
      });
      if (!open) log.info('channel closed by Cronofy; recreating', { channelId: this.d.channelId });
      await this.enter(S.applyChannelChecked(this.d, open, Date.now()));
    } catch (err) {
      await this.enter(S.applyChannelCheckFailure(this.d, classifyFailure(err), Date.now()));
    }
  }

  /** Authorization failed for the whole retry window: stop Cronofy pushing, wait for new tokens. */
  async disconnect(): Promise<void> {
    await this.closeChannelQuietly('disconnect');
    const next = S.applyDisconnect(this.d);
    await this.bookkeeping(() =>
      this.acts.store.recordChannel({ accountId: this.d.accountId, channelId: null }),
    );
    await this.enter(next);
  }

  async reconnect(): Promise<void> {
    await this.enter(S.applyReconnect(this.d));
  }

  /** Null when finishing failed (MongoDB down): the loop tries again after the backoff. */
  async deregister(): Promise<AccountSyncOutcome | null> {
    const d = this.d;
    // Answer waiting syncNow updates first, so that waiting for handlers cannot deadlock.
    for (const r of d.requests)
      this.results.set(r.id, { error: 'account deregistered', type: 'AccountDeregistered' });
    d.requests = [];
    await this.closeChannelQuietly('deregister');
    const purge = d.deregister?.purge ?? false;
    if (
      !(await this.bookkeeping(() => this.acts.store.finishDeregistration({ accountId: d.accountId, purge })))
    ) {
      return null;
    }
    S.applyDeregistered(d);
    this.closed();
    this.publish();
    await condition(allHandlersFinished);
    return { accountId: d.accountId, state: 'closed', reason: 'deregistered' };
  }

  /** Closing may itself fail (without a valid token, say); the account ends or waits regardless. */
  private async closeChannelQuietly(why: 'deregister' | 'disconnect'): Promise<void> {
    if (!this.d.channelId) return;
    try {
      await this.acts.channel.closeChannel({ accountId: this.d.accountId, channelId: this.d.channelId });
    } catch (err) {
      log.warn(`closing channel on ${why} failed`, { message: classifyFailure(err).message });
    }
  }

  /** Sleeps until `until` or a message; continues-as-new first when the history is long. */
  async wait(until: number | null): Promise<void> {
    this.publish();
    // Only between steps and with no update waiting on the loop (an update handler awaits a result
    // this loop produces, so waiting for it here would deadlock). Signal handlers are synchronous;
    // whatever they recorded is in `d` and travels with it.
    const info = workflowInfo();
    const limit = this.opts.historyLimit;
    const tooLong = info.continueAsNewSuggested || (limit !== undefined && info.historyLength >= limit);
    if (tooLong && allHandlersFinished()) {
      const settings = { timings: this.t, callbackUrl: this.callbackUrl };
      await continueAsNew<typeof accountSync>({ ...this.input, ...settings, carried: this.d });
    }
    if (this.takeWake()) return;
    if (until === null) await condition(() => this.wake);
    else {
      await condition(() => this.wake, Math.max(1, until - Date.now()), {
        summary: `wait until ${new Date(until).toISOString()} (${nextDueLabel(this.status())})`,
      });
    }
    this.takeWake();
  }

  private takeWake(): boolean {
    const w = this.wake;
    this.wake = false;
    return w;
  }
}

export async function accountSync(input: AccountSyncInput): Promise<AccountSyncOutcome> {
  const wf = new AccountSync(input);
  if (!(await wf.start())) {
    // A notification for an account we do not know (deregistered, or never registered): nothing
    // to sync. The receiver acknowledged it; the workflow just ends.
    log.info('account not registered; workflow ends', { accountId: input.accountId });
    return { accountId: input.accountId, state: 'closed', reason: 'not_registered' };
  }
  for (;;) {
    await wf.refreshSettings();
    const step = planNext(wf.d, Date.now(), wf.t);
    switch (step.kind) {
      case 'deregister': {
        const outcome = await wf.deregister();
        if (outcome) return outcome;
        break;
      }
      case 'record':
        await wf.record();
        break;
      case 'disconnect':
        await wf.disconnect();
        break;
      case 'reconnect':
        await wf.reconnect();
        break;
      case 'ensureChannel':
        await wf.ensureChannel();
        break;
      case 'checkChannel':
        await wf.checkChannel();
        break;
      case 'checkProfiles':
        await wf.checkProfiles();
        break;
      case 'pruneCalendars':
        await wf.pruneCalendars(step.keepCalendarIds);
        break;
      case 'sync':
        await wf.sync(step);
        break;
      case 'wait':
        await wf.wait(step.until);
        break;
    }
  }
}
