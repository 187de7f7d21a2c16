/**
 * Cronofy errors → Temporal failures. Temporal decides retries by the failure's `type`; this is the
 * one place that sets it, the non-retryable flag, and the next retry delay from `Retry-After`.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { CronofyError, CronofyRateLimitedError } from '../cronofy/errors.js';
import { ACCOUNT_NOT_REGISTERED } from '../workflows/failures.js';

export function accountNotRegistered(accountId: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ACCOUNT_NOT_REGISTERED,
    message: `account ${accountId} is not registered`,
    nonRetryable: true,
  });
}

export function toTemporalFailure(err: unknown): unknown {
  if (!(err instanceof CronofyError)) return err;
  return ApplicationFailure.create({
    type: err.name,
    message: err.message,
    nonRetryable: !err.retryable,
    // Honour Cronofy's Retry-After; it still counts against the retry window.
    nextRetryDelay: err instanceof CronofyRateLimitedError ? err.retryAfterMs : undefined,
    // Status only: failures are kept in workflow history, and Cronofy's 4xx bodies may quote back
    // what it was sent (emails, event text). The message carries the error's safe summary
    // (the OAuth error code, the names of invalid fields: errors.ts `describeBody`).
    details: [{ status: err.status ?? null }],
    cause: err,
  });
}

/** Runs `fn`, converting Cronofy errors on the way out. */
export async function withCronofyFailures<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toTemporalFailure(err);
  }
}
