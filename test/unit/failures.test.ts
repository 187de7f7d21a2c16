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
    expect(f.details).toEqual([{ status: 429 }]);
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

  it('4xx client errors and revoked authorization: non-retryable, status and a safe summary only', () => {
    // Cronofy's 4xx bodies can quote back what it was sent; failures live in workflow history.
    const body = {
      errors: { tzid: [{ key: 'errors.required', description: 'alice@example.com: Board meeting' }] },
      echo: 'Bearer secret-access-token',
    };
    const client = failure(new CronofyClientError({ ...at, status: 422, body }));
    expect(client.type).toBe('CronofyClientError');
    expect(client.nonRetryable).toBe(true);
    expect(client.details).toEqual([{ status: 422 }]);
    expect(client.message).toContain('tzid: errors.required');
    const recorded = JSON.stringify({
      message: client.message,
      details: client.details,
      cause: { message: client.cause?.message, stack: client.cause?.stack },
    });
    for (const leaked of ['alice@example.com', 'Board meeting', 'secret-access-token']) {
      expect(recorded).not.toContain(leaked);
    }

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
