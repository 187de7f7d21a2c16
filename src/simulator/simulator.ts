/**
 * CronofySimulator: an HTTP stand-in for Cronofy for tests and local mode. It speaks the parts of
 * the API we use (Read Events, channels, the token endpoint) the way Cronofy does, including the
 * unpleasant parts: rotating refresh tokens, 401s, 422 bodies, the sync window clamp, rate limits,
 * push retries and channels closed silently. Tests drive it through this class; other processes
 * through the JSON control API under `/_sim/` (./control.ts).
 */
import { createHmac, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toCronofyTime, utcDate } from '../lib/time.js';
import type { ChannelFilters, CronofyChannel, CronofyEvent } from '../cronofy/types.js';
import { handleControl } from './control.js';
import { Deliverer, type SimDelivery } from './delivery.js';
import { BodyError, readParams, sendJson, sleep } from './http.js';
import { type EventsQuery, parseEventsQuery, renderEvent, selectEvents, slicePage } from './read-events.js';
import { randomId, type SimAccount, type SimEventInput, SimState, type StoredEvent } from './state.js';

export interface SimulatorLogger {
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface CronofySimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Base URL used in `next_page` links and `sim.url`; default derived from the request's Host. */
  publicUrl?: string;
  clientId: string;
  /** Active client secrets, current first. All of them sign each push (comma-separated header). */
  clientSecrets: string[];
  /** Read Events page size. Default 50. */
  pageSize?: number;
  /** Default 3600000. */
  accessTokenTtlMs?: number;
  /** A push must be answered 2xx within this. Default 5000. */
  deliveryTimeoutMs?: number;
  /** Delays between tries of a failed push; the last one repeats. Default 30 s, 1, 5, 15, 30 min, 1 h. */
  deliveryRetryDelaysMs?: number[];
  /** A push failing for this long closes its channel silently. Default 24 h. */
  channelRetryWindowMs?: number;
  /** Default 128. */
  maxChannelsPerAccount?: number;
  /** Old Cronofy docs limit callback URLs to 128 characters; enforced by default. `null` = no limit. */
  maxCallbackUrlLength?: number | null;
  /** Cronofy's per-application limits (default 50/s and 500/min) or `false` to disable. */
  rateLimit?: { perSecond: number; perMinute: number } | false;
  /** Clock for `created`/`updated`, `changes_since`, the sync window and token expiry. */
  now?: () => Date;
  logger?: SimulatorLogger;
  /** Serve the `/_sim/` control API. Default true. */
  control?: boolean;
}

export interface SimFault {
  /** Any method when absent. */
  method?: string;
  /** Exact path (`/v1/events`) or a RegExp tested against the path. */
  path: string | RegExp;
  /** Answer with this status instead of handling the request. */
  status?: number;
  /** `Retry-After` header value for the faulty answer. */
  retryAfter?: string;
  /** Wait before answering (with `status`, with a drop, or before handling normally). */
  delayMs?: number;
  /** Destroy the socket instead of answering. */
  drop?: boolean;
  /** Body of the faulty answer; default a Cronofy-like body for 422, none otherwise. */
  body?: unknown;
  /** How many matching requests to affect. */
  times: number;
}

export interface SimFaultHandle {
  id: string;
  remaining(): number;
  clear(): void;
}

export interface SimRequest {
  method: string;
  path: string;
  /** The raw query string (`?tzid=…`); bearer tokens are never in it. */
  query: string;
  status: number | 'dropped';
  at: Date;
  /** True when an injected fault produced the answer. */
  fault?: boolean;
}

export interface SimChannelClosure {
  accountId: string;
  channel: CronofyChannel;
  reason: 'delivery_failures' | 'silent';
  at: Date;
}

interface ActiveFault extends SimFault {
  id: string;
  remainingTimes: number;
}

interface Cursor {
  accountId: string;
  query: EventsQuery;
  afterKey: string;
  page: number;
}

type Respond = (status: number, body?: unknown, headers?: Record<string, string>) => void;

const DEFAULT_RETRY_DELAYS_MS = [30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000];
const MAX_CURSORS = 50_000;
const NOOP_LOGGER: SimulatorLogger = { info() {}, warn() {} };

export class CronofySimulator {
  #url = '';
  readonly requests: SimRequest[] = [];
  readonly closedChannels: SimChannelClosure[] = [];

  readonly #opts: CronofySimulatorOptions;
  readonly #now: () => Date;
  readonly #state: SimState;
  readonly #deliverer: Deliverer;
  readonly #logger: SimulatorLogger;
  readonly #server: http.Server;
  readonly #faults: ActiveFault[] = [];
  readonly #cursors = new Map<string, Cursor>();
  readonly #hits: number[] = [];
  readonly #cursorKey = randomBytes(32);

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

  createAccount(opts: { accountId?: string; calendarIds?: string[] } = {}): SimAccount {
    return this.#state.createAccount(opts);
  }

  /**
   * Creates or updates an event as if the user changed it in their calendar: stamps `created` and
   * `updated` (whole seconds) and pushes `change` to the account's open channels whose filters
   * match. `notify: false` changes it without a push (like a change Cronofy does not notify).
   */
  upsertEvent(accountId: string, input: SimEventInput, opts: { notify?: boolean } = {}): CronofyEvent {
    const stored = this.#state.upsertEvent(accountId, input);
    if (opts.notify !== false) this.#notifyChange(accountId, stored);
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
    const active: ActiveFault = { ...fault, id: randomId('flt_', 6), remainingTimes: fault.times };
    this.#faults.push(active);
    return {
      id: active.id,
      remaining: () => active.remainingTimes,
      clear: () => {
        active.remainingTimes = 0;
      },
    };
  }

  clearFaults(): void {
    this.#faults.length = 0;
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

  // ---- HTTP ---------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname === '/_sim' || url.pathname.startsWith('/_sim/')) {
      if (this.#opts.control === false) return sendJson(res, 404, {});
      return handleControl(this, req, res, url);
    }

    const record: SimRequest = { method, path: url.pathname, query: url.search, status: 0, at: this.#now() };
    const respond: Respond = (status, body, headers) => {
      record.status = status;
      this.requests.push(record);
      sendJson(res, status, body, headers);
    };

    const fault = this.#takeFault(method, url.pathname);
    if (fault) {
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.drop) {
        record.status = 'dropped';
        record.fault = true;
        this.requests.push(record);
        req.socket.destroy();
        return;
      }
      if (fault.status !== undefined) {
        record.fault = true;
        const headers: Record<string, string> =
          fault.retryAfter === undefined ? {} : { 'Retry-After': fault.retryAfter };
        return respond(fault.status, fault.body ?? defaultFaultBody(fault.status), headers);
      }
    }
    if (this.#rateLimited()) return respond(429);

    try {
      await this.#route(req, url, method, respond);
    } catch (err) {
      if (err instanceof BodyError) return respond(err.status, { error: err.code });
      throw err;
    }
  }

  async #route(req: IncomingMessage, url: URL, method: string, respond: Respond): Promise<void> {
    const path = url.pathname;
    if (path === '/oauth/token') {
      if (method !== 'POST') return respond(404, {});
      return this.#token(await readParams(req), respond);
    }
    if (!path.startsWith('/v1/')) return respond(404, {});

    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    const accountId = bearer === undefined ? undefined : this.#state.authenticate(bearer);
    if (accountId === undefined) {
      return respond(401, undefined, { 'WWW-Authenticate': 'Bearer realm="Cronofy", error="invalid_token"' });
    }

    if (path === '/v1/events' && method === 'GET') return this.#readEvents(req, url, accountId, respond);
    const page = /^\/v1\/events\/pages\/([\w-]+)$/.exec(path);
    if (page && method === 'GET') return this.#readEventsPage(req, page[1]!, accountId, respond);
    if (path === '/v1/channels' && method === 'POST')
      return this.#createChannel(await readParams(req), accountId, respond);
    if (path === '/v1/channels' && method === 'GET') {
      return respond(200, { channels: this.#state.channels(accountId) });
    }
    const channel = /^\/v1\/channels\/([^/]+)$/.exec(path);
    if (channel && method === 'DELETE') {
      const closed = this.#closeChannel(accountId, decodeURIComponent(channel[1]!), 'deleted');
      return closed ? respond(202) : respond(404, {});
    }
    return respond(404, {});
  }

  #readEvents(req: IncomingMessage, url: URL, accountId: string, respond: Respond) {
    const parsed = parseEventsQuery(url.searchParams, utcDate(this.#now()));
    if (!parsed.ok) return respond(parsed.status, parsed.body);
    this.#answerPage(req, accountId, parsed.query, undefined, 1, respond);
  }

  #readEventsPage(req: IncomingMessage, cursorId: string, accountId: string, respond: Respond) {
    const cursor = this.#cursors.get(cursorId);
    if (!cursor || cursor.accountId !== accountId) return respond(404, {});
    this.#answerPage(req, accountId, cursor.query, cursor.afterKey, cursor.page, respond);
  }

  #answerPage(
    req: IncomingMessage,
    accountId: string,
    query: EventsQuery,
    afterKey: string | undefined,
    page: number,
    respond: Respond,
  ): void {
    const pageSize = this.#opts.pageSize ?? 50;
    const sorted = selectEvents(this.#state.events(accountId), query);
    const slice = slicePage(sorted, afterKey, page, pageSize);
    const pages: { current: number; total: number; next_page?: string } = {
      current: page,
      total: slice.total,
    };
    if (slice.nextAfter !== undefined) {
      const cursor: Cursor = { accountId, query, afterKey: slice.nextAfter, page: page + 1 };
      // Same cursor, same id: fetching a page twice (a retry) links to the same next page.
      const id = createHmac('sha256', this.#cursorKey)
        .update(JSON.stringify(cursor))
        .digest('base64url')
        .slice(0, 22);
      if (!this.#cursors.has(id)) {
        this.#cursors.set(id, cursor);
        if (this.#cursors.size > MAX_CURSORS) this.#cursors.delete(this.#cursors.keys().next().value!);
      }
      pages.next_page = `${this.#publicBase(req)}/v1/events/pages/${id}`;
    }
    respond(200, { pages, events: slice.items.map((s) => renderEvent(s, query)) });
  }

  #createChannel(body: Record<string, unknown>, accountId: string, respond: Respond) {
    const errors: Record<string, { key: string; description: string }[]> = {};
    const callbackUrl = body['callback_url'];
    const maxLength = this.#opts.maxCallbackUrlLength === undefined ? 128 : this.#opts.maxCallbackUrlLength;
    if (typeof callbackUrl !== 'string' || callbackUrl === '') {
      errors['callback_url'] = [{ key: 'errors.required', description: 'required' }];
    } else if (!isHttpUrl(callbackUrl)) {
      errors['callback_url'] = [
        { key: 'errors.invalid_url', description: 'must be a valid http or https URL' },
      ];
    } else if (maxLength !== null && callbackUrl.length > maxLength) {
      errors['callback_url'] = [
        { key: 'errors.too_long', description: `must be at most ${maxLength} characters` },
      ];
    }

    const filters: ChannelFilters = {};
    const rawFilters = body['filters'];
    if (rawFilters !== undefined && rawFilters !== null) {
      if (typeof rawFilters !== 'object' || Array.isArray(rawFilters)) {
        errors['filters'] = [{ key: 'errors.invalid', description: 'must be an object' }];
      } else {
        const { calendar_ids: ids, only_managed: onlyManaged } = rawFilters as Record<string, unknown>;
        const calendars = this.#state.account(accountId).calendarIds;
        if (ids !== undefined) {
          if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || !calendars.includes(id))) {
            errors['filters.calendar_ids'] = [{ key: 'errors.invalid', description: 'unknown calendar' }];
          } else if (ids.length > 0) {
            filters.calendar_ids = [...new Set(ids as string[])].sort();
          }
        }
        if (
          onlyManaged !== undefined &&
          typeof onlyManaged !== 'boolean' &&
          onlyManaged !== 'true' &&
          onlyManaged !== 'false'
        ) {
          errors['filters.only_managed'] = [
            { key: 'errors.invalid_boolean', description: 'must be true or false' },
          ];
        } else if (onlyManaged === true || onlyManaged === 'true') {
          filters.only_managed = true;
        }
      }
    }
    if (Object.keys(errors).length > 0) return respond(422, { errors });

    const existing = this.#state.findIdentical(accountId, callbackUrl as string, filters);
    if (existing) return respond(200, { channel: existing });
    const max = this.#opts.maxChannelsPerAccount ?? 128;
    if (this.#state.channels(accountId).length >= max) {
      return respond(422, {
        errors: {
          base: [{ key: 'errors.channel_limit', description: `at most ${max} channels per account` }],
        },
      });
    }
    const channel = this.#state.addChannel(accountId, callbackUrl as string, filters);
    respond(200, { channel });
    // Cronofy verifies the callback right after creating the channel.
    setImmediate(() => this.#deliverer.notify(accountId, channel, { type: 'verification' }));
  }

  #token(params: Record<string, unknown>, respond: Respond) {
    const { client_id: clientId, client_secret: clientSecret, grant_type: grantType } = params;
    if (
      clientId !== this.#opts.clientId ||
      typeof clientSecret !== 'string' ||
      !this.#opts.clientSecrets.includes(clientSecret)
    ) {
      return respond(401, { error: 'invalid_client' });
    }
    if (grantType === 'refresh_token') {
      const refreshToken = params['refresh_token'];
      if (typeof refreshToken !== 'string' || refreshToken === '')
        return respond(400, { error: 'invalid_request' });
      const grant = this.#state.refreshGrant(refreshToken);
      return grant ? respond(200, grant) : respond(400, { error: 'invalid_grant' });
    }
    if (grantType === 'authorization_code') {
      const code = params['code'];
      const redirectUri = params['redirect_uri'];
      if (typeof code !== 'string' || code === '') return respond(400, { error: 'invalid_request' });
      const grant = this.#state.codeGrant(code, typeof redirectUri === 'string' ? redirectUri : undefined);
      if (!grant) return respond(400, { error: 'invalid_grant' });
      return respond(200, {
        ...grant,
        linking_profile: {
          provider_name: 'google',
          profile_id: `pro_${grant.account_id}`,
          profile_name: `${grant.account_id}@example.com`,
        },
      });
    }
    respond(400, { error: 'unsupported_grant_type' });
  }

  // ---- internals ----------------------------------------------------------------------------

  #notifyChange(accountId: string, stored: StoredEvent): void {
    const { event } = stored;
    for (const channel of this.#state.channels(accountId)) {
      if (channel.filters.calendar_ids && !channel.filters.calendar_ids.includes(event.calendar_id)) continue;
      if (channel.filters.only_managed && !event.event_id) continue;
      this.#deliverer.notify(accountId, channel, { type: 'change', changes_since: event.updated });
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

  #takeFault(method: string, path: string): ActiveFault | undefined {
    const fault = this.#faults.find((f) => {
      if (f.remainingTimes <= 0) return false;
      if (f.method !== undefined && f.method.toUpperCase() !== method) return false;
      if (typeof f.path === 'string') return f.path === path;
      f.path.lastIndex = 0;
      return f.path.test(path);
    });
    if (fault) fault.remainingTimes -= 1;
    return fault;
  }

  /** Sliding windows over accepted requests, per application like Cronofy's. */
  #rateLimited(): boolean {
    const limit = this.#opts.rateLimit ?? { perSecond: 50, perMinute: 500 };
    if (limit === false) return false;
    const now = Date.now();
    while (this.#hits.length > 0 && this.#hits[0]! <= now - 60_000) this.#hits.shift();
    let lastSecond = 0;
    for (let i = this.#hits.length - 1; i >= 0 && this.#hits[i]! > now - 1000; i--) lastSecond++;
    if (lastSecond >= limit.perSecond || this.#hits.length >= limit.perMinute) return true;
    this.#hits.push(now);
    return false;
  }

  #publicBase(req: IncomingMessage): string {
    if (this.#opts.publicUrl) return this.#opts.publicUrl.replace(/\/+$/, '');
    const host = req.headers.host;
    return host ? `http://${host}` : this.#url;
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

function defaultFaultBody(status: number): unknown {
  if (status === 422) return { errors: { base: [{ key: 'errors.invalid', description: 'injected fault' }] } };
  return undefined;
}
