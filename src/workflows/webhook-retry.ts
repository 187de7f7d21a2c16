/**
 * How a failing webhook message is retried (pure; test/unit/webhook-retry.test.ts). A message's
 * first attempt runs alone; when it fails the workflow shows `failing` and runs it again with
 * Temporal's retries, exponential backoff from `initialIntervalMs` doubling up to
 * `maxIntervalMs`, for what remains of the retry window counted from the first failure. When
 * that runs out too, the webhook is paused.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { WebhookRetry } from './webhook-messages.js';

/** Attempts made outside the retrying call: the first, which tells "failing" from "delivering". */
export const FIRST_ATTEMPT: ActivityOptions['retry'] = { maximumAttempts: 1 };

/** What remains of the retry window (ms), or 0 when it has run out. */
export function remainingWindow(retry: WebhookRetry, failingSince: number, now: number): number {
  return Math.max(0, failingSince + retry.windowMs - now);
}

/** Activity options for one delivery: a first attempt, or the retries within `remainingMs`. */
export function deliveryOptions(
  retry: WebhookRetry,
  requestTimeoutMs: number,
  remainingMs?: number,
): ActivityOptions {
  // One attempt: the rate limiter's wait, the request, and the MongoDB bookkeeping around it.
  const startToCloseTimeout = requestTimeoutMs + 30_000;
  if (remainingMs === undefined) return { startToCloseTimeout, retry: FIRST_ATTEMPT };
  return {
    startToCloseTimeout,
    scheduleToCloseTimeout: Math.max(1_000, remainingMs),
    retry: {
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: 2,
      maximumInterval: retry.maxIntervalMs,
    },
  };
}
