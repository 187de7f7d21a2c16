/**
 * Typed failures of Cronofy calls, one class per way a call can go wrong, so activities can let
 * Temporal decide: it matches `nonRetryableErrorTypes` against an error's `name`, and every class
 * sets `name` to its own class name as a literal (a bundler renaming classes cannot break it).
 * Errors carry the method and the URL path only: never a query string, a token or a secret.
 */

/**
 * Each error class's `name`, which becomes the `type` of the Temporal failure an activity throws;
 * retry policies and the workflow's failure classification match on these.
 */
export const CRONOFY_ERROR = {
  AuthRevoked: 'CronofyAuthRevokedError',
  Client: 'CronofyClientError',
  RateLimited: 'CronofyRateLimitedError',
  Server: 'CronofyServerError',
  Network: 'CronofyNetworkError',
} as const;

export interface CronofyErrorInit {
  method: string;
  /** Path only (`/v1/events`), never the query string. */
  path: string;
  status?: number;
  cause?: unknown;
}

export abstract class CronofyError extends Error {
  override readonly name: string = 'CronofyError';
  abstract readonly retryable: boolean;
  readonly method: string;
  readonly path: string;
  readonly status?: number;

  constructor(message: string, init: CronofyErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.method = init.method;
    this.path = init.path;
    if (init.status !== undefined) this.status = init.status;
  }
}

/**
 * The account's authorization is gone: the refresh token was refused (`400 invalid_grant`) or a
 * request still answered 401 right after a refresh. Retrying cannot help; the user must reconnect.
 */
export class CronofyAuthRevokedError extends CronofyError {
  override readonly name = CRONOFY_ERROR.AuthRevoked;
  readonly retryable = false;
  readonly reason: 'invalid_grant' | 'unauthorized_after_refresh';

  constructor(init: CronofyErrorInit & { reason: CronofyAuthRevokedError['reason'] }) {
    super(
      init.reason === 'invalid_grant'
        ? `Cronofy ${init.method} ${init.path}: refresh token refused (invalid_grant)`
        : `Cronofy ${init.method} ${init.path}: still 401 after a token refresh`,
      init,
    );
    this.reason = init.reason;
  }
}

/**
 * Cronofy refused the request itself (400, 402, 403, 404, 422 and other 4xx): retrying the same
 * request gives the same answer. `body` is Cronofy's parsed error body (`{"errors":{...}}` for 422).
 */
export class CronofyClientError extends CronofyError {
  override readonly name = CRONOFY_ERROR.Client;
  readonly retryable = false;
  readonly body: unknown;

  constructor(init: CronofyErrorInit & { body?: unknown; detail?: string }) {
    const detail = init.detail ?? describeBody(init.body);
    super(
      `Cronofy ${init.method} ${init.path} answered ${init.status ?? 'an error'}${detail ? ` (${detail})` : ''}`,
      init,
    );
    this.body = init.body;
  }
}

/** 429. `retryAfterMs` comes from a `Retry-After` header when Cronofy sends one (undocumented). */
export class CronofyRateLimitedError extends CronofyError {
  override readonly name = CRONOFY_ERROR.RateLimited;
  readonly retryable = true;
  readonly retryAfterMs?: number;

  constructor(init: CronofyErrorInit & { retryAfterMs?: number }) {
    super(
      `Cronofy ${init.method} ${init.path} rate limited (429)` +
        (init.retryAfterMs === undefined ? '' : `, retry after ${init.retryAfterMs} ms`),
      { ...init, status: init.status ?? 429 },
    );
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }
}

/** 5xx, 423 (Cronofy has no usable credentials for the calendar right now) and malformed answers. */
export class CronofyServerError extends CronofyError {
  override readonly name = CRONOFY_ERROR.Server;
  readonly retryable = true;
  readonly body: unknown;

  constructor(init: CronofyErrorInit & { body?: unknown; detail?: string }) {
    super(
      `Cronofy ${init.method} ${init.path} ${init.status === undefined ? 'failed' : `answered ${init.status}`}` +
        (init.detail ? ` (${init.detail})` : ''),
      init,
    );
    this.body = init.body;
  }
}

/** No HTTP answer: timeout, connection refused or reset, DNS failure. */
export class CronofyNetworkError extends CronofyError {
  override readonly name = CRONOFY_ERROR.Network;
  readonly retryable = true;
  readonly reason: 'timeout' | 'network';

  constructor(init: CronofyErrorInit & { reason: CronofyNetworkError['reason']; code?: string }) {
    super(
      init.reason === 'timeout'
        ? `Cronofy ${init.method} ${init.path} timed out`
        : `Cronofy ${init.method} ${init.path} network error${init.code ? ` (${init.code})` : ''}`,
      init,
    );
    this.reason = init.reason;
  }
}

/** For Temporal retry policies: retrying cannot fix these (the workflow decides what they mean). */
export const NON_RETRYABLE_CRONOFY_ERRORS: readonly string[] = [
  CRONOFY_ERROR.AuthRevoked,
  CRONOFY_ERROR.Client,
];

/**
 * `Retry-After` as milliseconds from `now`: either delta-seconds (`"7"`) or an HTTP-date. Dates in
 * the past give 0. Anything unparseable gives undefined (the caller backs off on its own).
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: Date = new Date(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date always names a weekday and GMT; refuse bare numbers or ISO strings Date.parse might take.
  if (!/^[A-Za-z]{3},? .*GMT$/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

const SAFE_CODE = /^[\w.]{1,64}$/;

/**
 * A short, safe summary of an error body for the message: the OAuth `error` code or the names and
 * keys of the invalid fields of a 422. Free text from the body never reaches the message.
 */
function describeBody(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { error, errors } = body as { error?: unknown; errors?: unknown };
  if (typeof error === 'string' && SAFE_CODE.test(error)) return error;
  if (typeof errors === 'object' && errors !== null) {
    const parts: string[] = [];
    for (const [field, list] of Object.entries(errors)) {
      if (!SAFE_CODE.test(field)) continue;
      const keys = Array.isArray(list)
        ? list
            .map((item) => (item as { key?: unknown } | null)?.key)
            .filter((k): k is string => typeof k === 'string' && SAFE_CODE.test(k))
        : [];
      parts.push(keys.length > 0 ? `${field}: ${keys.join(', ')}` : field);
    }
    if (parts.length > 0) return parts.slice(0, 5).join('; ');
  }
  return undefined;
}
