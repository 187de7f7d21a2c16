/**
 * CronofySimulator: an HTTP stand-in for Cronofy for tests and local mode. It speaks the parts of
 * the API we use (Read Events, channels, the token endpoint, profiles, calendars, UserInfo) the way
 * Cronofy does, including the unpleasant parts: rotating refresh tokens, 401s, 422 bodies, the sync
 * window clamp, `include_moved`, rate limits, push retries, channels closed silently, disconnected
 * profiles, page chains that change under a reader or end early, `updated` going backwards.
 * Where Cronofy's behaviour is undocumented it does the worse plausible thing (each place says so). Tests drive it through this class; other processes
 * through the JSON control API under `/_sim/` (./control.ts).
 *
 * This file holds the lifecycle and the world a test changes (accounts, events, channels, faults);
 * the Cronofy API it serves is ./cronofy-api.ts, its state ./state.ts, push deliveries ./delivery.ts.
 *
 * Longer than ~300 lines: the test-facing controls (moves, profiles, paging, faults) are many, and
 * they are the simulator's point.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CronofyChannel, CronofyEvent } from '../cronofy/types.js';
import { toCronofyTime } from '../lib/time.js';
import { handleControl } from './control.js';
import { CronofyApi } from './cronofy-api.js';
import { Deliverer, type SimDelivery } from './delivery.js';
import { FaultInjector } from './faults.js';
import { sendJson } from './http.js';
import type { PagingMode } from './read-events.js';
import {
  type CreateAccountOptions,
  type SimAccount,
  type SimCalendarChange,
  type SimEventInput,
  type SimProfile,
  SimState,
  SimulatorInputError,
  type StoredEvent,
} from './state.js';
import type {
  CronofySimulatorOptions,
  SimChannelClosure,
  SimFault,
  SimFaultHandle,
  SimPageServed,
  SimRequest,
  SimulatorControls,
  SimulatorLogger,
} from './types.js';

const DEFAULT_RETRY_DELAYS_MS = [30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000];
const NOOP_LOGGER: SimulatorLogger = { info() {}, warn() {} };

export class CronofySimulator implements SimulatorControls {
  #url = '';
  readonly requests: SimRequest[] = [];
  readonly closedChannels: SimChannelClosure[] = [];

  readonly #opts: CronofySimulatorOptions;
  readonly #now: () => Date;
  readonly #state: SimState;
  readonly #deliverer: Deliverer;
  readonly #logger: SimulatorLogger;
  readonly #server: http.Server;
  readonly #faults = new FaultInjector();
  readonly #api: CronofyApi;
  readonly #pageListeners = new Set<(info: SimPageServed) => void>();
  /** Per account and disconnected profile: the earliest change not pushed while it was disconnected. */
  readonly #unpushedSince = new Map<string, string>();

  private constructor(opts: CronofySimulatorOptions) {
    if (opts.clientSecrets.length === 0) throw new TypeError('clientSecrets must not be empty');
    this.#opts = opts;
    this.#now = opts.now ?? (() => new Date());
    this.#logger = opts.logger ?? NOOP_LOGGER;
    this.#state = new SimState(this.#now, opts.accessTokenTtlMs ?? 3_600_000);
    this.#deliverer = new Deliverer({
      clientSecrets: opts.clientSecrets,
      timeoutMs: opts.deliveryTimeoutMs ?? 5000,
      retryDelaysMs: opts.deliveryRetryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      retryWindowMs: opts.channelRetryWindowMs ?? 24 * 3_600_000,
      now: this.#now,
      isOpen: (accountId, channelId) => this.#state.findChannel(accountId, channelId) !== undefined,
      onGiveUp: (accountId, channelId) => this.#closeChannel(accountId, channelId, 'delivery_failures'),
    });
    this.#deliverer.on('delivery', (d) => {
      const log = d.ok ? this.#logger.debug : this.#logger.warn;
      log?.call(this.#logger, { ...d, body: undefined }, 'simulator push delivery');
    });
    this.#api = new CronofyApi({
      opts,
      now: this.#now,
      state: this.#state,
      deliverer: this.#deliverer,
      faults: this.#faults,
      requests: this.requests,
      url: () => this.#url,
      deleteChannel: (accountId, channelId) => this.#closeChannel(accountId, channelId, 'deleted'),
      pageServed: (info) => {
        for (const listener of [...this.#pageListeners]) listener(info);
      },
    });
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#logger.warn({ err }, 'simulator request failed');
        sendJson(res, 500, { error: 'simulator_error' });
      });
    });
  }

  static async start(opts: CronofySimulatorOptions): Promise<CronofySimulator> {
    const sim = new CronofySimulator(opts);
    const host = opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      sim.#server.once('error', reject);
      sim.#server.listen(opts.port ?? 0, host, () => resolve());
    });
    const { port } = sim.#server.address() as AddressInfo;
    const shownHost =
      host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    sim.#url = (opts.publicUrl ?? `http://${shownHost}:${port}`).replace(/\/+$/, '');
    sim.#logger.info({ url: sim.url }, 'cronofy simulator listening');
    return sim;
  }

  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  get url(): string {
    return this.#url;
  }

  async stop(): Promise<void> {
    await this.#deliverer.stop();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  /** Every push attempt, in order. */
  get deliveries(): SimDelivery[] {
    return this.#deliverer.log;
  }

  // ---- the world ----------------------------------------------------------------------------

  /** An account with one profile holding `calendarIds`, or with the `profiles` given. */
  createAccount(opts: CreateAccountOptions = {}): SimAccount {
    return this.#state.createAccount(opts);
  }

  /**
   * Creates or updates an event as if the user changed it in their calendar: stamps `created` and
   * `updated` (whole seconds) and pushes `change` to the account's open channels whose filters
   * match. `notify: false` changes it without a push (like a change Cronofy does not notify).
   * The event remembers every start/end it has had, for `include_moved`.
   *
   * `updated` stamps the change with that time instead of now, so `updated` can go backwards (a
   * provider re-import). Its push then says `changes_since` = now: when Cronofy noticed it is not
   * documented, and "now" is the worse case, as a read from there misses the older stamp.
   */
  upsertEvent(
    accountId: string,
    input: SimEventInput,
    opts: { notify?: boolean; updated?: string } = {},
  ): CronofyEvent {
    const stored = this.#state.upsertEvent(accountId, input, { updated: opts.updated });
    if (opts.notify !== false) this.#notifyChange(accountId, stored, opts.updated === undefined);
    return structuredClone(stored.event);
  }

  /**
   * Undeletes a deleted event: `deleted: false` again, and `updated` goes back to the stamp it had
   * before its deletion (or `updated`), older than the tombstone's. Pushed like `upsertEvent` with
   * an `updated`: `changes_since` = now.
   */
  undeleteEvent(
    accountId: string,
    eventUid: string,
    opts: { notify?: boolean; updated?: string } = {},
  ): CronofyEvent {
    const stored = this.#state.undeleteEvent(accountId, eventUid, { updated: opts.updated });
    if (opts.notify !== false) this.#notifyChange(accountId, stored, false);
    return structuredClone(stored.event);
  }

  /** Leaves a `deleted: true` tombstone with `updated` bumped, and pushes `change`. */
  deleteEvent(accountId: string, eventUid: string, opts: { notify?: boolean } = {}): CronofyEvent {
    const stored = this.#state.deleteEvent(accountId, eventUid);
    if (opts.notify !== false) this.#notifyChange(accountId, stored);
    return structuredClone(stored.event);
  }

  /** Ground truth, in Read Events order; tombstones only with `includeDeleted`. */
  truth(accountId: string, opts: { includeDeleted?: boolean } = {}): CronofyEvent[] {
    return this.#state
      .events(accountId)
      .filter((s) => opts.includeDeleted || !s.event.deleted)
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : 1))
      .map((s) => structuredClone(s.event));
  }

  /**
   * Runs `fn` once, right after the account's next Read Events page numbered `page` is answered and
   * before the reader can ask for the next one: the deterministic way to change events in the
   * middle of a page chain. Returns a function that cancels it.
   */
  afterPage(accountId: string, page: number, fn: () => void): () => void {
    const listener = (info: SimPageServed) => {
      if (info.accountId !== accountId || info.page !== page) return;
      this.#pageListeners.delete(listener);
      fn();
    };
    this.#pageListeners.add(listener);
    return () => this.#pageListeners.delete(listener);
  }

  /** Told after every Read Events page is answered. Returns a function that unsubscribes. */
  onPageServed(listener: (info: SimPageServed) => void): () => void {
    this.#pageListeners.add(listener);
    return () => this.#pageListeners.delete(listener);
  }

  /** Changes the Read Events page size or paging mode from the next page on. */
  setPaging(opts: { pageSize?: number; paging?: PagingMode }): void {
    if (opts.pageSize !== undefined) {
      if (!Number.isInteger(opts.pageSize) || opts.pageSize < 1)
        throw new SimulatorInputError('pageSize must be a positive integer');
      this.#opts.pageSize = opts.pageSize;
    }
    if (opts.paging !== undefined) {
      if (opts.paging !== 'keyset' && opts.paging !== 'offset')
        throw new SimulatorInputError('paging must be keyset or offset');
      this.#opts.paging = opts.paging;
    }
  }

  profiles(accountId: string): SimProfile[] {
    return structuredClone(this.#state.profiles(accountId));
  }

  /**
   * The profile (default: the account's first) lost its provider's authorization: UserInfo and
   * List Profiles show `profile_connected: false` with a `profile_relink_url`, every open channel
   * gets `profile_disconnected`, and its calendars' changes are not pushed until it reconnects.
   * Its events are left out of Read Events unless `disconnectedProfileEvents: 'returned'`
   * (whether Cronofy still returns them is not documented; leaving them out is the worse case).
   */
  disconnectProfile(accountId: string, profileId?: string): SimProfile {
    const profile = this.#state.profile(accountId, profileId);
    if (profile.connected) {
      profile.connected = false;
      this.pushNotification(accountId, 'profile_disconnected');
    }
    return structuredClone(profile);
  }

  /**
   * The user re-authorized the profile. Changes made while it was disconnected are pushed now as one
   * `change` (Cronofy documents that `change` notifications resume). `profile_initial_sync_completed`
   * is pushed only with `initialSyncCompleted: true`: Cronofy documents it for a newly connected
   * profile, not for a relink, so by default it does not come.
   */
  reconnectProfile(
    accountId: string,
    profileId?: string,
    opts: { initialSyncCompleted?: boolean } = {},
  ): SimProfile {
    const profile = this.#state.profile(accountId, profileId);
    if (!profile.connected) {
      profile.connected = true;
      const key = `${accountId}\u0000${profile.profileId}`;
      const since = this.#unpushedSince.get(key);
      this.#unpushedSince.delete(key);
      if (since !== undefined) {
        for (const channel of this.#state.channels(accountId)) {
          const ids = channel.filters.calendar_ids;
          if (ids && !ids.some((id) => profile.calendarIds.includes(id))) continue;
          this.#deliverer.notify(accountId, channel, { type: 'change', changes_since: since });
        }
      }
      if (opts.initialSyncCompleted) this.pushNotification(accountId, 'profile_initial_sync_completed');
    }
    return structuredClone(profile);
  }

  /**
   * The user renamed or deleted a calendar (see SimCalendarChange); changes merge with earlier
   * ones. Pushes nothing: Cronofy documents no notification for it.
   */
  changeCalendar(accountId: string, calendarId: string, change: SimCalendarChange): SimProfile {
    const profile = this.#state.profileOf(accountId, calendarId);
    if (!profile) throw new SimulatorInputError(`unknown calendar ${calendarId}`, 'not_found');
    profile.calendarChanges = {
      ...profile.calendarChanges,
      [calendarId]: { ...profile.calendarChanges?.[calendarId], ...change },
    };
    return structuredClone(profile);
  }

  /** Open channels. */
  channels(accountId: string): CronofyChannel[] {
    return structuredClone(this.#state.channels(accountId));
  }

  /** Closes a channel without telling anyone, as Cronofy does. */
  closeChannelSilently(accountId: string, channelId: string): boolean {
    return this.#closeChannel(accountId, channelId, 'silent');
  }

  /** Every access token of the account answers 401 from now on; the refresh token still works. */
  expireAccessTokens(accountId: string): void {
    this.#state.expireAccessTokens(accountId);
  }

  /** The user revoked access: access tokens → 401, refresh → 400 invalid_grant. */
  revoke(accountId: string): void {
    this.#state.revoke(accountId);
  }

  /** A code for the `authorization_code` grant (single use, 10 minutes). Exchanging it re-authorizes. */
  createAuthorizationCode(accountId: string, opts: { redirectUri?: string } = {}): string {
    return this.#state.createAuthorizationCode(accountId, opts.redirectUri);
  }

  /**
   * Pushes a notification of any type to every open channel of the account. A `change` without
   * `changes_since` in `extra` gets the current time.
   */
  pushNotification(accountId: string, type: string, extra: Record<string, unknown> = {}): string[] {
    const notification: { type: string; [k: string]: unknown } = { type, ...extra };
    if (type === 'change' && notification['changes_since'] === undefined) {
      notification['changes_since'] = toCronofyTime(this.#now());
    }
    return this.#state
      .channels(accountId)
      .map((channel) => this.#deliverer.notify(accountId, channel, notification));
  }

  injectFault(fault: SimFault): SimFaultHandle {
    return this.#faults.inject(fault);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /** Resolves when no push attempt is in flight (scheduled retries are not waited for). */
  settled(): Promise<void> {
    return this.#deliverer.settled();
  }

  /** The first delivery, past or future, that satisfies `predicate`. Rejects after `timeoutMs` (5000). */
  waitForDelivery(
    predicate: (d: SimDelivery) => boolean,
    opts: { timeoutMs?: number } = {},
  ): Promise<SimDelivery> {
    const past = this.deliveries.find(predicate);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const onDelivery = (d: SimDelivery) => {
        if (!predicate(d)) return;
        clearTimeout(timer);
        this.#deliverer.off('delivery', onDelivery);
        resolve(d);
      };
      const timer = setTimeout(() => {
        this.#deliverer.off('delivery', onDelivery);
        reject(new Error('no matching delivery in time'));
      }, opts.timeoutMs ?? 5000);
      this.#deliverer.on('delivery', onDelivery);
    });
  }

  // ---- HTTP and internals -------------------------------------------------------------------

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname === '/_sim' || url.pathname.startsWith('/_sim/')) {
      if (this.#opts.control === false) return sendJson(res, 404, {});
      return handleControl(this, req, res, url);
    }
    return this.#api.handle(req, res, url, method);
  }

  /**
   * Pushes `change` to the channels whose filters match the event: `calendar_ids` (only changes in
   * those calendars) and `only_managed`. `sinceUpdated` false: `changes_since` is now, not the
   * event's `updated`. A disconnected profile's changes wait for its reconnection.
   */
  #notifyChange(accountId: string, stored: StoredEvent, sinceUpdated = true): void {
    const { event } = stored;
    const changesSince = sinceUpdated && event.updated ? event.updated : toCronofyTime(this.#now());
    const profile = this.#state.profileOf(accountId, event.calendar_id);
    if (profile && !profile.connected) {
      const key = `${accountId}\u0000${profile.profileId}`;
      const earliest = this.#unpushedSince.get(key);
      if (earliest === undefined || changesSince < earliest) this.#unpushedSince.set(key, changesSince);
      return;
    }
    for (const channel of this.#state.channels(accountId)) {
      if (channel.filters.calendar_ids && !channel.filters.calendar_ids.includes(event.calendar_id)) continue;
      if (channel.filters.only_managed && !event.event_id) continue;
      this.#deliverer.notify(accountId, channel, { type: 'change', changes_since: changesSince });
    }
  }

  #closeChannel(
    accountId: string,
    channelId: string,
    reason: SimChannelClosure['reason'] | 'deleted',
  ): boolean {
    const channel = this.#state.findChannel(accountId, channelId);
    if (!channel) return false;
    this.#state.removeChannel(accountId, channelId);
    this.#deliverer.forgetChannel(channelId);
    if (reason !== 'deleted') {
      this.closedChannels.push({ accountId, channel, reason, at: this.#now() });
      this.#logger.info({ accountId, channelId, reason }, 'simulator closed a channel silently');
    }
    return true;
  }
}
