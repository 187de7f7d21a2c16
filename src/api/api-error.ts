/**
 * Errors the admin and read API answers with on purpose: a status, a stable machine-readable
 * `error` code and a message for humans, sent as `{ error, message }` by the server's one error
 * handler (./error-handler.ts), which also maps Fastify's own errors and validation failures.
 */

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

export const accountClosed = (accountId: string): ApiError =>
  new ApiError(409, 'account_closed', `account ${accountId} is deregistered; register it again first`);

/** MongoDB has not answered yet (or stopped answering): the caller may retry. */
export const mongoUnavailable = (): ApiError =>
  new ApiError(503, 'mongo_unavailable', 'MongoDB is not reachable; retry later');

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
