/** Pure pieces: the error classes and their retry classification, Retry-After, base URLs, the query. */
import { describe, expect, it } from 'vitest';
import { apiBaseUrl } from '../../src/cronofy/client.js';
import {
  CronofyAuthRevokedError,
  CronofyClientError,
  CronofyError,
  CronofyNetworkError,
  CronofyRateLimitedError,
  CronofyServerError,
  NON_RETRYABLE_CRONOFY_ERRORS,
  parseRetryAfter,
} from '../../src/cronofy/errors.js';
import type { DataCenter } from '../../src/cronofy/types.js';
import { readEventsQuery } from '../../src/cronofy/urls.js';
import { addDays, isCronofyDate, toCronofyTime } from '../../src/lib/time.js';

const at = { method: 'GET', path: '/v1/events' };
const samples = {
  CronofyAuthRevokedError: new CronofyAuthRevokedError({ ...at, reason: 'invalid_grant' }),
  CronofyClientError: new CronofyClientError({ ...at, status: 422, body: { errors: {} } }),
  CronofyRateLimitedError: new CronofyRateLimitedError({ ...at, retryAfterMs: 1000 }),
  CronofyServerError: new CronofyServerError({ ...at, status: 503 }),
  CronofyNetworkError: new CronofyNetworkError({ ...at, reason: 'timeout' }),
};

describe('error classes', () => {
  it('name equals the class name (what Temporal matches nonRetryableErrorTypes against)', () => {
    for (const [className, err] of Object.entries(samples)) {
      expect(err.name).toBe(className);
      expect(err.constructor.name).toBe(className);
      expect(err).toBeInstanceOf(CronofyError);
      expect(err).toBeInstanceOf(Error);
      expect(err.stack?.startsWith(`${className}: `)).toBe(true);
    }
  });

  it('NON_RETRYABLE_CRONOFY_ERRORS lists exactly the non-retryable classes', () => {
    const nonRetryable = Object.entries(samples)
      .filter(([, e]) => !e.retryable)
      .map(([name]) => name);
    expect([...NON_RETRYABLE_CRONOFY_ERRORS].sort()).toEqual(nonRetryable.sort());
    expect(nonRetryable.sort()).toEqual(['CronofyAuthRevokedError', 'CronofyClientError']);
  });

  it('keeps status, path and Cronofy’s body; the message summarises only safe codes', () => {
    const err = new CronofyClientError({
      method: 'POST',
      path: '/v1/channels',
      status: 422,
      body: { errors: { callback_url: [{ key: 'errors.required', description: 'Bearer abc123 leaked?' }] } },
    });
    expect(err.status).toBe(422);
    expect(err.body).toEqual({
      errors: { callback_url: [{ key: 'errors.required', description: 'Bearer abc123 leaked?' }] },
    });
    expect(err.message).toBe('Cronofy POST /v1/channels answered 422 (callback_url: errors.required)');
    expect(err.message).not.toContain('abc123');
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2025-01-15T12:00:00Z');
  it('reads delta-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 15 Jan 2025 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 15 Jan 2025 11:00:00 GMT', now)).toBe(0);
  });
  it('gives undefined for absent or unparseable values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('2025-01-15T12:00:30Z', now)).toBeUndefined();
  });
});

describe('apiBaseUrl', () => {
  it('maps data centers and lets an override win', () => {
    expect(apiBaseUrl('us')).toBe('https://api.cronofy.com');
    for (const dc of ['uk', 'de', 'au', 'ca', 'sg'] as const)
      expect(apiBaseUrl(dc)).toBe(`https://api-${dc}.cronofy.com`);
    expect(apiBaseUrl('de', 'http://127.0.0.1:8181/')).toBe('http://127.0.0.1:8181');
    expect(apiBaseUrl('us', '')).toBe('https://api.cronofy.com');
    expect(() => apiBaseUrl('eu' as DataCenter)).toThrow(/data center/);
  });
});

describe('readEventsQuery and time formats', () => {
  it('builds the Read Events query', () => {
    const q = readEventsQuery({
      from: '2025-01-01',
      to: '2025-02-01',
      lastModified: '2025-01-15T12:34:56.789Z',
      includeDeleted: true,
      onlyManaged: false,
      calendarIds: ['cal_1', 'cal_2'],
    });
    expect(q.toString()).toBe(
      'tzid=Etc%2FUTC&from=2025-01-01&to=2025-02-01&last_modified=2025-01-15T12%3A34%3A56Z' +
        '&include_deleted=true&only_managed=false&calendar_ids%5B%5D=cal_1&calendar_ids%5B%5D=cal_2',
    );
    expect(readEventsQuery({ tzid: 'Europe/London' }).toString()).toBe('tzid=Europe%2FLondon');
    expect(
      readEventsQuery({
        includeMoved: true,
        includeManaged: true,
        localizedTimes: true,
        includeGeo: true,
        googleEventIds: false,
      }).toString(),
    ).toBe(
      'tzid=Etc%2FUTC&include_moved=true&include_managed=true&localized_times=true&include_geo=true' +
        '&google_event_ids=false',
    );
  });

  it('refuses malformed dates and times (a caller bug)', () => {
    expect(() => readEventsQuery({ from: '2025-1-1' })).toThrow(TypeError);
    expect(() => readEventsQuery({ to: '2025-02-30' })).toThrow(TypeError);
    expect(() => readEventsQuery({ lastModified: 'yesterday' })).toThrow(TypeError);
  });

  it('toCronofyTime truncates milliseconds; dates are validated and shifted', () => {
    expect(toCronofyTime(new Date('2024-10-23T09:24:16.999Z'))).toBe('2024-10-23T09:24:16Z');
    expect(toCronofyTime('2024-10-23T11:24:16+02:00')).toBe('2024-10-23T09:24:16Z');
    expect(isCronofyDate('2024-02-29')).toBe(true);
    expect(isCronofyDate('2023-02-29')).toBe(false);
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(addDays('2025-01-15', -42)).toBe('2024-12-04');
  });
});
