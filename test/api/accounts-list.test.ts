/**
 * `GET /accounts` through `app.inject()` with fakes: what the query string becomes for the
 * repository, how a page is answered (every field, times as ISO strings), and what is refused
 * before MongoDB is asked. The MongoDB side (filters, pages, failingSince) is
 * test/integration/accounts-list.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountSummary } from '../../src/store/accounts-query.js';
import { InvalidCursorError } from '../../src/store/cursor.js';
import { call, type Fakes, fakeAdminApp } from './fakes.js';

let f: Fakes;
afterEach(async () => {
  await f?.close();
});

const summary = (accountId: string, over: Partial<AccountSummary> = {}): AccountSummary => ({
  accountId,
  state: 'degraded',
  dataCenter: 'de',
  calendarIds: ['cal_1'],
  channelId: 'chn_1',
  failingSince: new Date('2026-05-01T09:30:00Z'),
  registeredAt: new Date('2026-04-01T10:00:00Z'),
  updatedAt: new Date('2026-05-01T09:30:00Z'),
  deregisteredAt: null,
  deregistering: false,
  ...over,
});

describe('GET /accounts', () => {
  it('passes the filters to the repository and answers its page with every field', async () => {
    f = await fakeAdminApp();
    f.accounts.list.mockResolvedValueOnce({
      accounts: [
        summary('a-1'),
        summary('a-2', { state: 'disconnected', channelId: null, calendarIds: null }),
      ],
      nextCursor: 'next-page',
    });
    const res = await call(
      f.app,
      'GET',
      '/accounts?state=degraded&state=disconnected&dataCenter=de&failingSinceBefore=2026-05-02T00:00:00Z&failingSinceAfter=2026-04-30&limit=2&cursor=abc',
    );
    expect(res.status).toBe(200);
    expect(f.accounts.list).toHaveBeenCalledWith({
      states: ['degraded', 'disconnected'],
      dataCenter: 'de',
      failing: undefined,
      failingSinceBefore: new Date('2026-05-02T00:00:00Z'),
      failingSinceAfter: new Date('2026-04-30T00:00:00Z'),
      limit: 2,
      cursor: 'abc',
    });
    expect(res.body).toEqual({
      accounts: [
        {
          accountId: 'a-1',
          state: 'degraded',
          dataCenter: 'de',
          calendarIds: ['cal_1'],
          channelId: 'chn_1',
          failingSince: '2026-05-01T09:30:00.000Z',
          registeredAt: '2026-04-01T10:00:00.000Z',
          updatedAt: '2026-05-01T09:30:00.000Z',
          deregisteredAt: null,
          deregistering: false,
        },
        expect.objectContaining({
          accountId: 'a-2',
          state: 'disconnected',
          channelId: null,
          calendarIds: null,
        }),
      ],
      nextCursor: 'next-page',
    });
  });

  it('takes one state as a list, `failing` as a boolean, and defaults the page size; never asks Temporal', async () => {
    f = await fakeAdminApp();
    expect((await call(f.app, 'GET', '/accounts?state=active&failing=true')).body).toEqual({
      accounts: [],
      nextCursor: null,
    });
    expect(f.accounts.list).toHaveBeenLastCalledWith(
      expect.objectContaining({ states: ['active'], failing: true, limit: 100, cursor: undefined }),
    );
    await call(f.app, 'GET', '/accounts');
    expect(f.accounts.list).toHaveBeenLastCalledWith(
      expect.objectContaining({ states: undefined, limit: 100 }),
    );
    expect(Object.values(f.workflows).every((m) => m.mock.calls.length === 0)).toBe(true);
  });

  it('refuses bad filters with 400 before asking MongoDB', async () => {
    f = await fakeAdminApp();
    const cases: [url: string, error: string, message: RegExp][] = [
      ['/accounts?state=sleeping', 'invalid_request', /state\/0 must be equal to one of the allowed values/],
      ['/accounts?dataCenter=mars', 'invalid_request', /dataCenter/],
      ['/accounts?limit=0', 'invalid_request', /limit must be >= 1/],
      ['/accounts?limit=501', 'invalid_request', /limit must be <= 500/],
      ['/accounts?failing=maybe', 'invalid_request', /failing must be boolean/],
      ['/accounts?owner=x', 'invalid_request', /must NOT have additional properties: `owner`/],
      ['/accounts?failingSinceBefore=yesterday', 'invalid_request', /failingSinceBefore must match pattern/],
      ['/accounts?failingSinceBefore=2026-13-01', 'invalid_time', /failingSinceBefore/],
      [
        '/accounts?failingSinceAfter=2026-05-02&failingSinceBefore=2026-05-01',
        'invalid_range',
        /failingSinceAfter` must be before/,
      ],
      ['/accounts?failing=false&failingSinceAfter=2026-05-01', 'invalid_request', /not with `failing=false`/],
    ];
    for (const [url, error, message] of cases) {
      const res = await call(f.app, 'GET', url);
      expect(res.status, url).toBe(400);
      expect(res.body, url).toEqual({ error, message: expect.stringMatching(message) });
    }
    expect(f.accounts.list).not.toHaveBeenCalled();
  });

  it('answers a cursor the repository refuses with 400 invalid_cursor', async () => {
    f = await fakeAdminApp();
    f.accounts.list.mockRejectedValueOnce(
      new InvalidCursorError('cursor belongs to a query with other filters'),
    );
    expect(await call(f.app, 'GET', '/accounts?state=active&cursor=eyJ2IjoxfQ')).toMatchObject({
      status: 400,
      body: { error: 'invalid_cursor', message: 'cursor belongs to a query with other filters' },
    });
  });
});
