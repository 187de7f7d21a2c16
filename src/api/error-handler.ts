/**
 * The one error handler of the HTTP app: every error a route or hook throws, and every request
 * Fastify refuses while routing, is answered here as `{ error, message }` with its status.
 *
 * - `ApiError` (and the typed errors `toApiError` knows): their own status and code;
 * - Fastify's client errors (body too large, not JSON, bad URL): the contract's statuses;
 * - schema validation: 400 `invalid_request` with the validator's message;
 * - anything else: 500 `internal error`, logged with the error (never its message in the body).
 */
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import type { Metrics } from '../metrics.js';
import { CursorExpiredError } from '../store/change-feed.js';
import { InvalidCursorError } from '../store/cursor.js';
import { ApiError, mongoUnavailable } from './api-error.js';
import { NOTIFICATION_ROUTE } from './receiver.js';

/** Fastify's own client errors, mapped to the contract's statuses with our JSON body. */
const FASTIFY_ERRORS: Record<string, { status: number; error: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, error: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    error: 'unsupported_media_type',
    message: 'Content-Type must be application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    error: 'invalid_content_length',
    message: 'the body length does not match Content-Length',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'invalid_body', message: 'body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, error: 'invalid_body', message: 'body is not valid JSON' },
  FST_ERR_BAD_URL: { status: 400, error: 'invalid_url', message: 'the URL is not validly percent-encoded' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 400, error: 'invalid_url', message: 'a path segment is too long' },
};

/** Typed errors of our own modules that mean the same wherever they are thrown. */
function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof InvalidCursorError) return new ApiError(400, 'invalid_cursor', err.message);
  if (err instanceof CursorExpiredError) return new ApiError(410, 'cursor_expired', err.message);
  // MongoDB went away after it had answered: the same 503 as before it first answered.
  if (
    err instanceof MongoServerSelectionError ||
    err instanceof MongoNetworkError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoTopologyClosedError
  ) {
    return mongoUnavailable();
  }
  return undefined;
}

/**
 * Fastify's `frameworkErrors` option: errors raised while routing (bad percent-encoding, over-long
 * segment) skip the hooks and the error handler; answer them in the same shape, with the request id.
 */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, res: FastifyReply): void {
  const known = FASTIFY_ERRORS[err.code];
  req.log.info({ code: err.code }, 'request refused while routing');
  res
    .code(known?.status ?? 400)
    .header('x-request-id', req.id)
    .send({
      error: known?.error ?? 'bad_request',
      message: known?.message ?? 'the request cannot be routed',
    });
}

/** Installs the error and not-found handlers at the root: every plugin inherits them. */
export function installErrorHandlers<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, L>,
  deps: { metrics: Metrics },
): void {
  app.setErrorHandler((e, req, reply) => {
    const api = toApiError(e);
    if (api) {
      if (api.statusCode >= 500) req.log.warn({ error: api.error }, api.message);
      else req.log.info({ error: api.error, status: api.statusCode }, api.message);
      return reply.code(api.statusCode).send({ error: api.error, message: api.message });
    }
    const err = e as Error & { code?: string; statusCode?: number; validation?: unknown };
    const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
    const status = known?.status ?? (err.statusCode && err.statusCode >= 400 ? err.statusCode : 500);
    if (req.routeOptions.url === NOTIFICATION_ROUTE) {
      deps.metrics.notifications.inc({ status: String(status), type: 'none' });
    }
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: err.code, status }, err.message);
    const error = known?.error ?? (err.validation ? 'invalid_request' : (err.code ?? 'error'));
    // Our own wording for Fastify's errors: theirs can quote request headers back.
    const message =
      status >= 500
        ? 'internal error'
        : status === 413
          ? `body is larger than ${req.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit} bytes`
          : (known?.message ?? err.message);
    return reply.code(status).send({ error, message });
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const shown = path.length > 200 ? `${path.slice(0, 200)}…` : path;
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${shown}` });
  });
}
