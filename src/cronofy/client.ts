/**
 * The typed Cronofy client: Read Events (page by page), channels, profiles, calendars, UserInfo and
 * the token endpoint. One HTTP
 * request per call, except a 401, which is retried once after `auth.refresh()`. No other retries:
 * failures become the typed errors of ./errors.ts and Temporal's retry policy decides.
 * Built on Node's fetch; every request has a timeout; responses keep fields we do not know.
 * A client bound to a cancellation signal (`withSignal`) abandons its waits and requests when the
 * signal aborts, and rejects with the signal's reason rather than a Cronofy error.
 * Longer than our ~300 lines because it is the whole Cronofy surface we use, one method per
 * endpoint sharing one request path (auth retry, error mapping, timeout, cancellation).
 */
import {
  CronofyAuthRevokedError,
  CronofyClientError,
  type CronofyError,
  CronofyNetworkError,
  CronofyRateLimitedError,
  CronofyServerError,
  parseRetryAfter,
} from './errors.js';
import type {
  ChannelFilters,
  CronofyCalendar,
  CronofyChannel,
  CronofyProfile,
  CronofyUserInfo,
  ReadEventsPage,
  ReadEventsParams,
  TokenResponse,
} from './types.js';
import { readEventsQuery } from './urls.js';

export { apiBaseUrl } from './urls.js';

/** One account's credentials, as the caller stores them. */
export interface AccountAuth {
  getAccessToken(): Promise<string>;
  /** Refreshes and persists the tokens; resolves to the new access token. */
  refresh(): Promise<string>;
}

export interface CronofyResponseInfo {
  method: string;
  /** A route template (`/v1/channels/:channel_id`), never an id: safe as a metrics label. */
  path: string;
  /** `error`: no answer (network, timeout); `cancelled`: we gave up on it (not Cronofy's fault). */
  status: number | 'error' | 'cancelled';
  ms: number;
}

export interface CronofyClientOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Per request, body included. Default 30000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Called once per HTTP request (a 401 and its retry are two calls). */
  onResponse?: (info: CronofyResponseInfo) => void;
  /**
   * Awaited before each HTTP request, before its timeout starts: where a rate limiter makes the
   * call wait for budget. (Waiting inside `fetch` would spend the request's timeout on the queue
   * and abort a call that already took a share of the budget.) Receives the client's cancellation
   * signal, if any: a wait for budget is abandoned when it aborts.
   */
  beforeRequest?: (signal?: AbortSignal) => Promise<void>;
  /**
   * The caller's cancellation (an activity's `cancellationSignal`): when it aborts, the wait in
   * `beforeRequest` and the request in flight are abandoned, and the call rejects with the signal's
   * reason. Usually set per activity with `withSignal`.
   */
  signal?: AbortSignal;
}

export interface CreateChannelInput {
  callbackUrl: string;
  filters?: ChannelFilters;
}

export type ReadEventsPageWithUrl = ReadEventsPage & { url: string };

interface HttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, the raw text when it is not JSON, or undefined when empty. */
  body: unknown;
  parsed: boolean;
}

interface RequestSpec {
  method: 'GET' | 'POST' | 'DELETE';
  url: URL;
  /** Metrics label. */
  route: string;
  body?: unknown;
  bearer?: string;
}

const USER_AGENT = 'cronofy-sync';

export class CronofyClient {
  readonly #options: CronofyClientOptions;
  readonly #signal: AbortSignal | undefined;
  readonly #base: URL;
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #timeoutMs: number;
  readonly #beforeRequest: ((signal?: AbortSignal) => Promise<void>) | undefined;
  readonly #fetch: typeof fetch;
  readonly #onResponse: CronofyClientOptions['onResponse'];

  constructor(options: CronofyClientOptions) {
    this.#options = options;
    this.#signal = options.signal;
    this.#base = new URL(options.baseUrl.replace(/\/+$/, '') + '/');
    this.#clientId = options.clientId;
    this.#clientSecret = options.clientSecret;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#beforeRequest = options.beforeRequest;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#onResponse = options.onResponse;
  }

  /**
   * The same client (options, hooks) with every call cancelled when `signal` aborts: one per
   * activity attempt, so a timed-out or cancelled attempt stops waiting and reading at once.
   */
  withSignal(signal: AbortSignal | undefined): CronofyClient {
    return signal === undefined ? this : new CronofyClient({ ...this.#options, signal });
  }

  /**
   * Read Events, one yielded value per page, following `pages.next_page` to the end. Each page
   * carries the `url` it was read from. To resume after a failure, pass the last page's
   * `pages.next_page` as `startUrl` (then `params` are not used: the URL remembers the query).
   * A `next_page` on another origin is refused, so the bearer token never leaves Cronofy's host.
   */
  async *readEventsPages(
    auth: AccountAuth,
    params: ReadEventsParams,
    opts: { startUrl?: string } = {},
  ): AsyncGenerator<ReadEventsPageWithUrl> {
    let url: URL | undefined;
    let route: string;
    if (opts.startUrl === undefined) {
      url = this.#url('v1/events');
      url.search = readEventsQuery(params).toString();
      route = '/v1/events';
    } else {
      url = this.#sameOrigin(opts.startUrl, 'GET');
      route = '/v1/events (next_page)';
    }
    const seen = new Set<string>();
    while (url !== undefined) {
      if (seen.has(url.href)) {
        throw new CronofyServerError({
          method: 'GET',
          path: url.pathname,
          detail: 'next_page repeats a page',
        });
      }
      seen.add(url.href);
      const answer = await this.#authed(auth, { method: 'GET', url, route });
      const page = answer.body as ReadEventsPage;
      if (!isReadEventsPage(page)) {
        throw new CronofyServerError({
          method: 'GET',
          path: url.pathname,
          status: answer.status,
          detail: 'unexpected Read Events response',
        });
      }
      yield { ...page, url: url.href };
      const next = page.pages.next_page;
      url = typeof next === 'string' && next !== '' ? this.#sameOrigin(next, 'GET') : undefined;
      route = '/v1/events (next_page)';
    }
  }

  /** `POST /v1/channels`. Cronofy may answer an identical request with the existing channel. */
  async createChannel(auth: AccountAuth, input: CreateChannelInput): Promise<CronofyChannel> {
    const body: Record<string, unknown> = { callback_url: input.callbackUrl };
    if (input.filters !== undefined) body['filters'] = input.filters;
    const url = this.#url('v1/channels');
    const answer = await this.#authed(auth, { method: 'POST', url, route: '/v1/channels', body });
    const channel = (answer.body as { channel?: CronofyChannel } | undefined)?.channel;
    if (typeof channel?.channel_id !== 'string') {
      throw new CronofyServerError({
        method: 'POST',
        path: url.pathname,
        detail: 'no channel in the response',
      });
    }
    return channel;
  }

  /** `GET /v1/channels`: open channels only; a channel Cronofy closed silently is missing here. */
  async listChannels(auth: AccountAuth): Promise<CronofyChannel[]> {
    const url = this.#url('v1/channels');
    const answer = await this.#authed(auth, { method: 'GET', url, route: '/v1/channels' });
    const channels = (answer.body as { channels?: CronofyChannel[] } | undefined)?.channels;
    if (!Array.isArray(channels)) {
      throw new CronofyServerError({
        method: 'GET',
        path: url.pathname,
        detail: 'no channels in the response',
      });
    }
    return channels;
  }

  /** `DELETE /v1/channels/:id` (202). A 404 means the channel is already gone: resolves too. */
  async closeChannel(auth: AccountAuth, channelId: string): Promise<void> {
    const url = this.#url(`v1/channels/${encodeURIComponent(channelId)}`);
    try {
      await this.#authed(auth, { method: 'DELETE', url, route: '/v1/channels/:channel_id' });
    } catch (err) {
      if (err instanceof CronofyClientError && err.status === 404) return;
      throw err;
    }
  }

  /**
   * `GET /v1/userinfo`: `sub` and, under `cronofy.data`, each profile with `profile_connected`,
   * `profile_relink_url` and `profile_initial_sync_required`, and its calendars.
   */
  async userInfo(auth: AccountAuth): Promise<CronofyUserInfo> {
    const url = this.#url('v1/userinfo');
    const answer = await this.#authed(auth, { method: 'GET', url, route: '/v1/userinfo' });
    const info = answer.body as CronofyUserInfo | undefined;
    if (typeof info?.sub !== 'string') {
      throw new CronofyServerError({ method: 'GET', path: url.pathname, detail: 'no sub in the response' });
    }
    return info;
  }

  /** `GET /v1/profiles`: the account's calendar profiles and whether Cronofy can still reach each. */
  async listProfiles(auth: AccountAuth): Promise<CronofyProfile[]> {
    return this.#list<CronofyProfile>(auth, 'v1/profiles', 'profiles');
  }

  /** `GET /v1/calendars`: every calendar of every profile; deleted ones may be listed (`calendar_deleted`). */
  async listCalendars(auth: AccountAuth): Promise<CronofyCalendar[]> {
    return this.#list<CronofyCalendar>(auth, 'v1/calendars', 'calendars');
  }

  /** A `GET` answering `{ [key]: [...] }`; a missing array is a server error, not an empty list. */
  async #list<T>(auth: AccountAuth, relative: string, key: string): Promise<T[]> {
    const url = this.#url(relative);
    const answer = await this.#authed(auth, { method: 'GET', url, route: `/${relative}` });
    const items = (answer.body as Record<string, unknown> | undefined)?.[key];
    if (!Array.isArray(items)) {
      throw new CronofyServerError({
        method: 'GET',
        path: url.pathname,
        detail: `no ${key} in the response`,
      });
    }
    return items as T[];
  }

  /**
   * `refresh_token` grant. Always store the returned refresh token: it may differ from the one sent.
   * `400 invalid_grant` → CronofyAuthRevokedError.
   */
  async refreshToken(refreshToken: string): Promise<TokenResponse> {
    return this.#token({ grant_type: 'refresh_token', refresh_token: refreshToken }, true);
  }

  /** `authorization_code` grant, for the OAuth onboarding redirect. A bad code → CronofyClientError. */
  async exchangeCode(code: string, redirectUri: string): Promise<TokenResponse & { sub?: string }> {
    return this.#token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }, false);
  }

  /**
   * `POST /oauth/token/revoke` `{ client_id, client_secret, token }`: ends the authorization the
   * token (refresh or access) belongs to. Used when an account is purged.
   */
  async revokeToken(token: string): Promise<void> {
    const url = this.#url('oauth/token/revoke');
    const answer = await this.#send({
      method: 'POST',
      url,
      route: '/oauth/token/revoke',
      body: { client_id: this.#clientId, client_secret: this.#clientSecret, token },
    });
    if (!isOk(answer.status)) throw errorFor('POST', url.pathname, answer);
  }

  async #token(grant: Record<string, string>, invalidGrantIsRevoked: boolean): Promise<TokenResponse> {
    const url = this.#url('oauth/token');
    const answer = await this.#send({
      method: 'POST',
      url,
      route: '/oauth/token',
      body: { client_id: this.#clientId, client_secret: this.#clientSecret, ...grant },
    });
    if (isOk(answer.status)) {
      const token = answer.body as TokenResponse | undefined;
      if (typeof token?.access_token !== 'string' || typeof token.refresh_token !== 'string') {
        throw new CronofyServerError({
          method: 'POST',
          path: url.pathname,
          status: answer.status,
          detail: 'no tokens in the response',
        });
      }
      return token;
    }
    const error = (answer.body as { error?: unknown } | undefined)?.error;
    if (invalidGrantIsRevoked && answer.status === 400 && error === 'invalid_grant') {
      throw new CronofyAuthRevokedError({
        method: 'POST',
        path: url.pathname,
        status: 400,
        reason: 'invalid_grant',
      });
    }
    throw errorFor('POST', url.pathname, answer);
  }

  /** A bearer request; on 401, one refresh and one retry. */
  async #authed(auth: AccountAuth, spec: Omit<RequestSpec, 'bearer'>): Promise<HttpAnswer> {
    let answer = await this.#send({ ...spec, bearer: await auth.getAccessToken() });
    if (answer.status === 401) {
      const fresh = await auth.refresh();
      answer = await this.#send({ ...spec, bearer: fresh });
      if (answer.status === 401) {
        throw new CronofyAuthRevokedError({
          method: spec.method,
          path: spec.url.pathname,
          status: 401,
          reason: 'unauthorized_after_refresh',
        });
      }
    }
    if (!isOk(answer.status)) throw errorFor(spec.method, spec.url.pathname, answer);
    if (!answer.parsed && answer.body !== undefined) {
      throw new CronofyServerError({
        method: spec.method,
        path: spec.url.pathname,
        status: answer.status,
        detail: 'response is not JSON',
      });
    }
    return answer;
  }

  /** One HTTP exchange. Only network failures throw here; statuses are the caller's business. */
  async #send(spec: RequestSpec): Promise<HttpAnswer> {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': USER_AGENT };
    if (spec.bearer !== undefined) headers['Authorization'] = `Bearer ${spec.bearer}`;
    let payload: string | undefined;
    if (spec.body !== undefined) {
      payload = JSON.stringify(spec.body);
      headers['Content-Type'] = 'application/json; charset=utf-8';
    }
    const cancel = this.#signal;
    // A cancelled caller neither waits for budget nor starts a request.
    cancel?.throwIfAborted();
    await this.#beforeRequest?.(cancel);
    cancel?.throwIfAborted();
    const started = performance.now();
    let status: CronofyResponseInfo['status'] = 'error';
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    try {
      // The same signal covers the body: a response that stalls mid-body times out too.
      const res = await this.#fetch(spec.url, {
        method: spec.method,
        headers,
        body: payload,
        redirect: 'manual',
        signal: cancel ? AbortSignal.any([cancel, timeout]) : timeout,
      });
      const text = await res.text();
      status = res.status;
      return { status: res.status, headers: res.headers, ...parseBody(text) };
    } catch (err) {
      // Our own cancellation, not a Cronofy failure: no retryable network error, no error status.
      if (cancel?.aborted) {
        status = 'cancelled';
        throw cancel.reason;
      }
      throw networkError(spec.method, spec.url.pathname, err);
    } finally {
      this.#report({ method: spec.method, path: spec.route, status, ms: performance.now() - started });
    }
  }

  #report(info: CronofyResponseInfo): void {
    if (this.#onResponse === undefined) return;
    try {
      this.#onResponse(info);
    } catch {
      // A broken metrics hook must not fail a Cronofy call.
    }
  }

  #url(relative: string): URL {
    return new URL(relative, this.#base);
  }

  #sameOrigin(href: string, method: string): URL {
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      throw new CronofyClientError({
        method,
        path: '(invalid next_page URL)',
        detail: 'invalid next_page URL',
      });
    }
    if (url.origin !== this.#base.origin) {
      throw new CronofyClientError({ method, path: url.pathname, detail: 'next_page is on another origin' });
    }
    return url;
  }
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

function parseBody(text: string): { body: unknown; parsed: boolean } {
  if (text.trim() === '') return { body: undefined, parsed: false };
  try {
    return { body: JSON.parse(text) as unknown, parsed: true };
  } catch {
    return { body: text, parsed: false };
  }
}

function isReadEventsPage(value: unknown): value is ReadEventsPage {
  if (typeof value !== 'object' || value === null) return false;
  const { pages, events } = value as { pages?: unknown; events?: unknown };
  return typeof pages === 'object' && pages !== null && Array.isArray(events);
}

/** Maps a non-2xx, non-handled status to its error class. */
function errorFor(method: string, path: string, answer: HttpAnswer): CronofyError {
  const { status, body } = answer;
  if (status === 429) {
    return new CronofyRateLimitedError({
      method,
      path,
      status,
      retryAfterMs: parseRetryAfter(answer.headers.get('retry-after')),
    });
  }
  if (status >= 500 || status === 423) return new CronofyServerError({ method, path, status, body });
  if (status >= 400) return new CronofyClientError({ method, path, status, body });
  // 1xx/3xx: Cronofy does not redirect; treat as a transient oddity rather than follow it with a token.
  return new CronofyServerError({ method, path, status, body, detail: 'unexpected status' });
}

function networkError(method: string, path: string, err: unknown): CronofyNetworkError {
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new CronofyNetworkError({ method, path, reason: 'timeout', cause: err });
  }
  return new CronofyNetworkError({ method, path, reason: 'network', code: errorCode(err), cause: err });
}

/** `ECONNRESET`, `ENOTFOUND`, `UND_ERR_SOCKET`…, from the error or its cause (undici wraps them). */
function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 3 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
