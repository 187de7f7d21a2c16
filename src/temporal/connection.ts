/**
 * The API's Temporal client connection, made safe to close while Temporal is unreachable.
 *
 * Why: the SDK retries failed gRPC calls (UNAVAILABLE, …) from a plain `setTimeout`. If the
 * connection is closed while such a retry is waiting, the timer still fires and grpc-js throws
 * "Channel has been shut down" from inside it: an uncaught exception that takes the process down
 * during a graceful shutdown (seen when the API stops during a Temporal outage). So we keep the
 * SDK's own retry policy but (1) note when each scheduled retry is due, (2) refuse new retries once
 * closing has begun, and (3) close the channel only after the last scheduled retry has run (at
 * most the SDK's 5 s maximum backoff; typically well under a second).
 */
import {
  Connection,
  type ConnectionOptions,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
} from '@temporalio/client';

export interface ClosableConnection {
  readonly connection: Connection;
  /** Stops new retries, waits for those already scheduled, then closes the channel. */
  close(): Promise<void>;
}

export interface RetryGate {
  /** Whether a failed call may be retried (false once closing began). */
  allow(): boolean;
  /** A retry was scheduled `delayMs` from now. */
  scheduled(delayMs: number): void;
  /** Begin closing: no new retries; resolves once every scheduled retry is due (plus `graceMs`). */
  drain(graceMs?: number): Promise<void>;
}

/** Pure bookkeeping of scheduled retries, separate from gRPC so it is unit-tested directly. */
export function createRetryGate(now: () => number = Date.now): RetryGate {
  let closing = false;
  let lastDueAt = 0;
  return {
    allow: () => !closing,
    scheduled(delayMs) {
      lastDueAt = Math.max(lastDueAt, now() + delayMs);
    },
    async drain(graceMs = 50) {
      closing = true;
      const waitMs = lastDueAt - now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs + graceMs));
    },
  };
}

/** `Connection.lazy` with the SDK's default retry policy, behind a RetryGate. */
export function lazyClosableConnection(
  options: Omit<ConnectionOptions, 'interceptors'> & { address: string },
): ClosableConnection {
  const gate = createRetryGate();
  const defaults = defaultGrpcRetryOptions();
  const connection = Connection.lazy({
    ...options,
    interceptors: [
      makeGrpcRetryInterceptor({
        retryableDecider: (attempt, status) => gate.allow() && defaults.retryableDecider(attempt, status),
        delayFunction: (attempt, status) => {
          const ms = defaults.delayFunction(attempt, status);
          gate.scheduled(ms);
          return ms;
        },
      }),
    ],
  });
  return {
    connection,
    async close() {
      await gate.drain();
      await connection.close();
    },
  };
}
