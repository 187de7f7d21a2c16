/**
 * Cronofy errors → Temporal failures: the type Temporal's retry policy matches on, the
 * non-retryable flag, and `Retry-After` becoming the next retry delay.
 */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { toTemporalFailure, withCronofyFailures } from '../../src/activities/failures.js';
import {
  CronofyAuthRevokedError,
  CronofyClientError,
  CronofyNetworkError,
  CronofyRateLimitedError,
  CronofyServerError,
} from '../../src/cronofy/errors.js';

const at = { method: 'GET', path: '/v1/events' };

function failure(err: unknown): ApplicationFailure {
  const f = toTemporalFailure(err);
  expect(f).toBeInstanceOf(ApplicationFailure);
  return f as ApplicationFailure;
}

describe('toTemporalFailure', () => {
  it('429 with Retry-After: retryable, next retry delay = Retry-After', () => {
    const f = failure(new CronofyRateLimitedError({ ...at, status: 429, retryAfterMs: 7_000 }));
    expect(f.type).toBe('CronofyRateLimitedError');
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(7_000);
    expect(f.details).toEqual([{ status: 429, body: undefined }]);
  });

  it('429 without Retry-After: retryable, the retry policy’s backoff decides', () => {
    const f = failure(new CronofyRateLimitedError({ ...at, status: 429 }));
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBeUndefined();
  });

  it('5xx and network failures: retryable with backoff, no fixed delay', () => {
    for (const err of [
      new CronofyServerError({ ...at, status: 503 }),
      new CronofyNetworkError({ ...at, reason: 'timeout' }),
      new CronofyNetworkError({ ...at, reason: 'network', code: 'ECONNRESET' }),
    ]) {
      const f = failure(err);
      expect(f.type).toBe(err.name);
      expect(f.nonRetryable).toBe(false);
      expect(f.nextRetryDelay).toBeUndefined();
    }
  });

  it('4xx client errors and revoked authorization: non-retryable, with Cronofy’s body', () => {
    const body = { errors: { tzid: [{ key: 'errors.required' }] } };
    const client = failure(new CronofyClientError({ ...at, status: 422, body }));
    expect(client.type).toBe('CronofyClientError');
    expect(client.nonRetryable).toBe(true);
    expect(client.details).toEqual([{ status: 422, body }]);

    const revoked = failure(
      new CronofyAuthRevokedError({
        method: 'POST',
        path: '/oauth/token',
        status: 400,
        reason: 'invalid_grant',
      }),
    );
    expect(revoked.type).toBe('CronofyAuthRevokedError');
    expect(revoked.nonRetryable).toBe(true);
  });

  it('leaves errors that are not Cronofy’s alone (Temporal retries them as it would)', async () => {
    const other = new Error('MongoServerError: connection closed');
    expect(toTemporalFailure(other)).toBe(other);
    await expect(withCronofyFailures(() => Promise.reject(other))).rejects.toBe(other);
    await expect(withCronofyFailures(() => Promise.resolve(42))).resolves.toBe(42);
    await expect(
      withCronofyFailures(() =>
        Promise.reject(new CronofyRateLimitedError({ ...at, status: 429, retryAfterMs: 1_000 })),
      ),
    ).rejects.toMatchObject({ type: 'CronofyRateLimitedError', nextRetryDelay: 1_000 });
  });
});
