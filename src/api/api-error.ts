/**
 * Errors the admin and read API answers with on purpose: a status, a stable machine-readable
 * `error` code and a message for humans, sent as `{ error, message }` by the admin scope's error
 * handler. Anything else goes on to the server's handler (validation → 400, the rest → 500).
 */
import type { FastifyError, FastifyInstance } from 'fastify';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (accountId: string): ApiError =>
  new ApiError(404, 'account_not_found', `account ${accountId} is not registered`);

/** Temporal is unreachable or slow: the caller may retry. */
export const temporalUnavailable = (): ApiError =>
  new ApiError(503, 'temporal_unavailable', 'Temporal did not answer; retry later');

/** gRPC UNAVAILABLE, DEADLINE_EXCEEDED: the Temporal server cannot be reached right now. */
const UNREACHABLE_CODES = new Set([4, 14]);

/** Whether an error from the Temporal client means "server unreachable" rather than a bug. */
export function isTemporalUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (typeof code === 'number' && UNREACHABLE_CODES.has(code)) return true;
    if (name === 'ServiceError' || name === 'TransportError') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Installs the handler in `app`'s scope; other errors are rethrown to the parent handler. */
export function handleApiErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (!(err instanceof ApiError)) throw err;
    if (err.statusCode >= 500) req.log.warn({ error: err.error }, err.message);
    else req.log.info({ error: err.error, status: err.statusCode }, err.message);
    return reply.code(err.statusCode).send({ error: err.error, message: err.message });
  });
}
