/**
 * The Cronofy HTTP API as the simulator serves it: the token endpoint, Read Events with its paging
 * cursors, channels, and profiles, calendars and UserInfo, behind injected faults and Cronofy's per-application rate limits. Every
 * answered or dropped request goes to the simulator's request log. State lives in ./state.ts; push
 * deliveries in ./delivery.ts.
 *
 * Longer than ~300 lines: the Cronofy HTTP surface the simulator serves, one handler per endpoint,
 * each with its documented and worse-case behaviour noted.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChannelFilters } from '../cronofy/types.js';
import { utcDate } from '../lib/time.js';
import type { Deliverer } from './delivery.js';
import { type ActiveFault, defaultFaultBody, type FaultInjector } from './faults.js';
import { BodyError, readParams, sendJson, sleep } from './http.js';
import { renderCalendars, renderProfile, renderUserInfo } from './profiles.js';
import {
  type EventsQuery,
  type PagePosition,
  parseEventsQuery,
  renderEvent,
  selectEvents,
  slicePage,
} from './read-events.js';
import { SCOPE, type SimState } from './state.js';
import type { CronofySimulatorOptions, SimPageServed, SimRequest } from './types.js';

export interface CronofyApiDeps {
  /** Read on every request: a bench changes `rateLimit` on the live object. */
  opts: CronofySimulatorOptions;
  now: () => Date;
  state: SimState;
  deliverer: Deliverer;
  faults: FaultInjector;
  /** The simulator's request log, appended to. */
  requests: SimRequest[];
  /** The simulator's base URL, for `next_page` links of a request without a Host header. */
  url: () => string;
  /** `DELETE /v1/channels/:id`: closes the channel; false when the account has no such channel. */
  deleteChannel: (accountId: string, channelId: string) => boolean;
  /** Called after each Read Events page is answered, before any further request is handled. */
  pageServed: (info: SimPageServed) => void;
}

interface Cursor {
  accountId: string;
  query: EventsQuery;
  at: PagePosition;
  page: number;
}

type Respond = (status: number, body?: unknown, headers?: Record<string, string>) => void;

const MAX_CURSORS = 50_000;

export class CronofyApi {
  readonly #d: CronofyApiDeps;
  readonly #cursors = new Map<string, Cursor>();
  readonly #hits: number[] = [];
  readonly #cursorKey = randomBytes(32);

  constructor(deps: CronofyApiDeps) {
    this.#d = deps;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    const record: SimRequest = {
      method,
      path: url.pathname,
      query: url.search,
      status: 0,
      at: this.#d.now(),
    };
    const respond: Respond = (status, body, headers) => {
      record.status = status;
      this.#d.requests.push(record);
      sendJson(res, status, body, headers);
    };

    const fault = this.#d.faults.take(method, url.pathname);
    if (fault) {
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.drop) {
        record.status = 'dropped';
        record.fault = true;
        this.#d.requests.push(record);
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
      await this.#route(req, url, method, respond, fault);
    } catch (err) {
      if (err instanceof BodyError) return respond(err.status, { error: err.code });
      throw err;
    }
  }

  async #route(
    req: IncomingMessage,
    url: URL,
    method: string,
    respond: Respond,
    fault: ActiveFault | undefined,
  ): Promise<void> {
    const path = url.pathname;
    if (path === '/oauth/token') {
      if (method !== 'POST') return respond(404, {});
      return this.#token(await readParams(req), respond);
    }
    if (path === '/oauth/token/revoke') {
      if (method !== 'POST') return respond(404, {});
      return this.#revoke(await readParams(req), respond);
    }
    if (!path.startsWith('/v1/')) return respond(404, {});

    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    const accountId = bearer === undefined ? undefined : this.#d.state.authenticate(bearer);
    if (accountId === undefined) {
      return respond(401, undefined, { 'WWW-Authenticate': 'Bearer realm="Cronofy", error="invalid_token"' });
    }

    if (path === '/v1/events' && method === 'GET')
      return this.#readEvents(req, url, accountId, respond, fault);
    const page = /^\/v1\/events\/pages\/([\w-]+)$/.exec(path);
    if (page && method === 'GET') return this.#readEventsPage(req, page[1]!, accountId, respond, fault);
    if (method === 'GET' && path === '/v1/userinfo') {
      const profiles = this.#d.state.profiles(accountId);
      return respond(200, renderUserInfo(accountId, SCOPE, profiles, this.#publicBase(req)));
    }
    if (method === 'GET' && path === '/v1/profiles') {
      const base = this.#publicBase(req);
      return respond(200, { profiles: this.#d.state.profiles(accountId).map((p) => renderProfile(p, base)) });
    }
    if (method === 'GET' && path === '/v1/calendars') {
      return respond(200, { calendars: renderCalendars(this.#d.state.profiles(accountId)) });
    }
    if (path === '/v1/channels' && method === 'POST')
      return this.#createChannel(await readParams(req), accountId, respond);
    if (path === '/v1/channels' && method === 'GET') {
      return respond(200, { channels: this.#d.state.channels(accountId) });
    }
    const channel = /^\/v1\/channels\/([^/]+)$/.exec(path);
    if (channel && method === 'DELETE') {
      const closed = this.#d.deleteChannel(accountId, decodeURIComponent(channel[1]!));
      return closed ? respond(202) : respond(404, {});
    }
    return respond(404, {});
  }

  #readEvents(
    req: IncomingMessage,
    url: URL,
    accountId: string,
    respond: Respond,
    fault: ActiveFault | undefined,
  ) {
    const parsed = parseEventsQuery(url.searchParams, utcDate(this.#d.now()));
    if (!parsed.ok) return respond(parsed.status, parsed.body);
    this.#answerPage(req, accountId, parsed.query, undefined, 1, respond, fault);
  }

  #readEventsPage(
    req: IncomingMessage,
    cursorId: string,
    accountId: string,
    respond: Respond,
    fault: ActiveFault | undefined,
  ) {
    const cursor = this.#cursors.get(cursorId);
    if (!cursor || cursor.accountId !== accountId) return respond(404, {});
    this.#answerPage(req, accountId, cursor.query, cursor.at, cursor.page, respond, fault);
  }

  /** One page, computed from the events as they are now (no snapshot of the chain's first page). */
  #answerPage(
    req: IncomingMessage,
    accountId: string,
    query: EventsQuery,
    at: PagePosition | undefined,
    page: number,
    respond: Respond,
    fault: ActiveFault | undefined,
  ): void {
    const { opts, state } = this.#d;
    const pageSize = opts.pageSize ?? 50;
    const hidden = new Set<string>();
    if ((opts.disconnectedProfileEvents ?? 'hidden') === 'hidden') {
      for (const p of state.profiles(accountId))
        if (!p.connected) for (const c of p.calendarIds) hidden.add(c);
    }
    const sorted = selectEvents(state.events(accountId), query, hidden);
    const slice = slicePage(sorted, at, page, pageSize, opts.paging ?? 'keyset');
    const pages: { current: number; total: number; next_page?: string } = {
      current: page,
      total: slice.total,
    };
    let next = slice.next;
    if (fault?.endChain) {
      if (next === undefined) fault.remainingTimes += 1; // the last page anyway: keep the fault for a page it can cut
      next = undefined;
    }
    if (next !== undefined) {
      const cursor: Cursor = { accountId, query, at: next, page: page + 1 };
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
    this.#d.pageServed({
      accountId,
      page,
      total: pages.total,
      hasNext: pages.next_page !== undefined,
      eventUids: slice.items.map((s) => s.event.event_uid),
    });
  }

  #createChannel(body: Record<string, unknown>, accountId: string, respond: Respond) {
    const { opts, state } = this.#d;
    const errors: Record<string, { key: string; description: string }[]> = {};
    const callbackUrl = body['callback_url'];
    const maxLength = opts.maxCallbackUrlLength === undefined ? 128 : opts.maxCallbackUrlLength;
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
        const calendars = state.account(accountId).calendarIds;
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

    const existing = state.findIdentical(accountId, callbackUrl as string, filters);
    if (existing) return respond(200, { channel: existing });
    const max = opts.maxChannelsPerAccount ?? 128;
    if (state.channels(accountId).length >= max) {
      return respond(422, {
        errors: {
          base: [{ key: 'errors.channel_limit', description: `at most ${max} channels per account` }],
        },
      });
    }
    const channel = state.addChannel(accountId, callbackUrl as string, filters);
    respond(200, { channel });
    // Cronofy verifies the callback right after creating the channel.
    setImmediate(() => this.#d.deliverer.notify(accountId, channel, { type: 'verification' }));
  }

  /**
   * `POST /oauth/token/revoke`: a refresh or access token ends its account's authorization (its
   * tokens stop working). An unknown token is answered 200 too (RFC 7009: nothing to revoke).
   */
  #revoke(params: Record<string, unknown>, respond: Respond) {
    const { opts, state } = this.#d;
    const { client_id: clientId, client_secret: clientSecret, token } = params;
    if (
      clientId !== opts.clientId ||
      typeof clientSecret !== 'string' ||
      !opts.clientSecrets.includes(clientSecret)
    ) {
      return respond(401, { error: 'invalid_client' });
    }
    if (typeof token !== 'string' || token === '') return respond(400, { error: 'invalid_request' });
    const accountId = state.accountOfToken(token);
    if (accountId !== undefined) state.revoke(accountId);
    return respond(200, {});
  }

  #token(params: Record<string, unknown>, respond: Respond) {
    const { opts, state } = this.#d;
    const { client_id: clientId, client_secret: clientSecret, grant_type: grantType } = params;
    if (
      clientId !== opts.clientId ||
      typeof clientSecret !== 'string' ||
      !opts.clientSecrets.includes(clientSecret)
    ) {
      return respond(401, { error: 'invalid_client' });
    }
    if (grantType === 'refresh_token') {
      const refreshToken = params['refresh_token'];
      if (typeof refreshToken !== 'string' || refreshToken === '')
        return respond(400, { error: 'invalid_request' });
      const grant = state.refreshGrant(refreshToken);
      return grant ? respond(200, grant) : respond(400, { error: 'invalid_grant' });
    }
    if (grantType === 'authorization_code') {
      const code = params['code'];
      const redirectUri = params['redirect_uri'];
      if (typeof code !== 'string' || code === '') return respond(400, { error: 'invalid_request' });
      const grant = state.codeGrant(code, typeof redirectUri === 'string' ? redirectUri : undefined);
      if (!grant) return respond(400, { error: 'invalid_grant' });
      const profile = state.profiles(grant.account_id)[0]!;
      return respond(200, {
        ...grant,
        linking_profile: {
          provider_name: profile.providerName,
          profile_id: profile.profileId,
          profile_name: profile.profileName,
        },
      });
    }
    respond(400, { error: 'unsupported_grant_type' });
  }

  /** Sliding windows over accepted requests, per application like Cronofy's. */
  #rateLimited(): boolean {
    const limit = this.#d.opts.rateLimit ?? { perSecond: 50, perMinute: 500 };
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
    if (this.#d.opts.publicUrl) return this.#d.opts.publicUrl.replace(/\/+$/, '');
    const host = req.headers.host;
    return host ? `http://${host}` : this.#d.url();
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
