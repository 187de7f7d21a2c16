/**
 * The sync activity's heartbeat: progress after each page, and a timer between pages.
 */
import type { Context } from '@temporalio/activity';

/**
 * Besides after each page, the activity heartbeats on a timer (with the last progress), so one slow
 * step (a Cronofy answer near its 30 s request timeout, MongoDB busy or failing over) is not taken
 * for a dead worker by the 30 s heartbeat timeout: that started a second attempt of the same sync
 * next to the first, adding load to whatever was slow. A worker that really died stops
 * heartbeating at once. The timer is also what delivers cancellation (Temporal answers it on a
 * heartbeat), so it runs through limiter waits and slow requests, and stops once the attempt is
 * cancelled. An attempt that makes no progress for KEEPALIVE_MAX_STALL_MS gives up by itself
 * (SyncStalledError, retried): it used to stop heartbeating and be timed out instead, and an
 * attempt that no longer heartbeats can never hear that it was replaced.
 */
export const KEEPALIVE_INTERVAL_MS = 10_000;
export const KEEPALIVE_MAX_STALL_MS = 120_000;

/** An attempt that made no progress for KEEPALIVE_MAX_STALL_MS ends itself with this (retryable). */
export class SyncStalledError extends Error {
  override readonly name = 'SyncStalledError';
}

export interface KeepAlive<P> {
  /** Progress was made: heartbeat it now, and keep heartbeating it on the timer. */
  beat(p: P): void;
  /** Aborts when the activity is cancelled or the attempt stalled: everything the attempt does. */
  signal: AbortSignal;
  stop(): void;
}

export function keepAlive<P>(
  ctx: Context,
  resumed: P | undefined,
  cancelled: AbortSignal,
  intervalMs: number,
): KeepAlive<P> {
  let latest = resumed;
  let progressAt = Date.now();
  const stalled = new AbortController();
  const signal = AbortSignal.any([cancelled, stalled.signal]);
  const timer = setInterval(() => {
    if (Date.now() - progressAt > KEEPALIVE_MAX_STALL_MS) {
      stalled.abort(new SyncStalledError(`no progress for ${KEEPALIVE_MAX_STALL_MS / 1000} s`));
    } else {
      ctx.heartbeat(latest);
    }
  }, intervalMs);
  const stop = () => {
    clearInterval(timer);
    signal.removeEventListener('abort', stop);
  };
  // A cancelled attempt has heard what it needed; heartbeating on would only keep it looking alive.
  signal.addEventListener('abort', stop, { once: true });
  return {
    beat(p) {
      latest = p;
      progressAt = Date.now();
      ctx.heartbeat(p);
    },
    signal,
    stop,
  };
}
