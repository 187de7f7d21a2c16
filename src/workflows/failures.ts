/**
 * Failure types, defined once, and how the workflow classifies a failed activity. Activities throw
 * `ApplicationFailure`s whose `type` is a Cronofy error class name (see `activities/failures.ts`) or
 * `AccountNotRegistered`; retry policies list the non-retryable ones; the workflow decides what a
 * failure means for the account (`FailureClass`). Pure (no I/O, no clock): unit-tested directly.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { CRONOFY_ERROR, NON_RETRYABLE_CRONOFY_ERRORS } from '../cronofy/errors.js';

/** The account was deregistered (or never registered): the workflow stops, nothing to retry. */
export const ACCOUNT_NOT_REGISTERED = 'AccountNotRegistered';

/** For `nonRetryableErrorTypes`: retrying cannot fix these, the workflow handles them. */
export const NON_RETRYABLE_FAILURE_TYPES: readonly string[] = [
  ...NON_RETRYABLE_CRONOFY_ERRORS,
  ACCOUNT_NOT_REGISTERED,
];

/**
 * - `auth`: authorization revoked or refused (401 after refresh, 403); disconnects after the retry window.
 * - `client`: Cronofy refused the request (4xx): retried later with backoff, never disconnects.
 * - `transient`: the whole retry window of 5xx, 429, timeouts or network errors.
 * - `not_registered`: the account is gone from MongoDB: the workflow deregisters.
 */
export type FailureClass = 'auth' | 'client' | 'transient' | 'not_registered';

export interface ClassifiedFailure {
  cls: FailureClass;
  message: string;
}

export function classifyFailure(err: unknown): ClassifiedFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const status = (cause.details?.[0] as { status?: number } | undefined)?.status;
    if (cause.type === ACCOUNT_NOT_REGISTERED) return { cls: 'not_registered', message: cause.message };
    if (cause.type === CRONOFY_ERROR.AuthRevoked || (cause.type === CRONOFY_ERROR.Client && status === 403)) {
      return { cls: 'auth', message: cause.message };
    }
    if (cause.type === CRONOFY_ERROR.Client) return { cls: 'client', message: cause.message };
    return { cls: 'transient', message: cause.message };
  }
  if (cause instanceof TimeoutFailure)
    return { cls: 'transient', message: `timed out (${cause.timeoutType})` };
  return { cls: 'transient', message: err instanceof Error ? err.message : String(err) };
}
