/**
 * Request validation and the error mapping of the admin API, through `app.inject()` with fakes:
 * bad input is a 400 `{ error, message }` naming the field and reaches nothing behind the API;
 * unknown and closed accounts are 404 and 409; typed errors from the store map to their codes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CronofyServerError } from '../../src/cronofy/errors.js';
import { InvalidCursorError } from '../../src/store/cursor.js';
import { ADMIN_TOKEN, accountInfo, call, type Fakes, fakeAdminApp, PUBLIC_URL } from './fakes.js';

let f: Fakes;
afterEach(async () => {
  await f?.close();
});

const good = { accountId: 'valid-1', accessToken: 'at', refreshToken: 'rt' };
const BAD: [method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body: unknown, hint: RegExp][] = [
  ['POST', '/accounts', { ...good, refreshToken: undefined }, /refreshToken/],
  ['POST', '/accounts', { ...good, accountId: '..' }, /accountId/],
  ['POST', '/accounts', { ...good, accountId: 'a/b' }, /accountId/],
  ['POST', '/accounts', { ...good, accountId: 'x'.repeat(129) }, /accountId/],
  ['POST', '/accounts', { ...good, accountId: '' }, /accountId/],
  ['POST', '/accounts', { ...good, accessToken: 42 }, /accessToken/],
  ['POST', '/accounts', { ...good, accessToken: '' }, /accessToken/],
  ['POST', '/accounts', { ...good, dataCenter: 'mars' }, /dataCenter/],
  ['POST', '/accounts', { ...good, calendarIds: 'cal_1' }, /calendarIds/],
  ['POST', '/accounts', { ...good, calendarIds: [''] }, /calendarIds/],
  ['POST', '/accounts', { ...good, calendarID: ['cal_1'] }, /additional properties: `calendarID`/],
  ['POST', '/accounts', [good], /object/],
  ['POST', '/accounts/valid-1/sync', { mode: 'everything' }, /mode/],
  ['POST', '/accounts/valid-1/sync', {}, /mode/],
  ['POST', '/accounts/valid-1/sync?wait=maybe', { mode: 'full' }, /wait/],
  ['PUT', '/accounts/valid-1/tokens', { accessToken: 'a' }, /refreshToken/],
  ['DELETE', '/accounts/valid-1?purge=please', undefined, /purge/],
  ['DELETE', '/accounts/valid-1?force=true', undefined, /additional properties/],
  ['GET', '/accounts/-leading-dash', undefined, /accountId/],
  ['GET', '/accounts/a%2Fb', undefined, /accountId/],
  ['GET', '/accounts/a%20b/events', undefined, /accountId/],
  ['GET', '/accounts/valid-1/events?limit=0', undefined, /limit/],
  ['GET', '/accounts/valid-1/events?limit=1001', undefined, /limit/],
  ['GET', '/accounts/valid-1/events?limit=ten', undefined, /limit/],
  ['GET', '/accounts/valid-1/events?from=yesterday', undefined, /from/],
  ['GET', '/accounts/valid-1/events?from=2026-13-45T99:00:00Z', undefined, /from/],
  ['GET', '/accounts/valid-1/events?from=2026-06-02&to=2026-06-01', undefined, /before/],
  ['GET', '/accounts/valid-1/events?includeDeleted=yes', undefined, /includeDeleted/],
  ['GET', '/accounts/valid-1/events?sort=desc', undefined, /additional properties/],
  ['GET', '/oauth/connect', undefined, /accountId/],
  ['GET', '/oauth/connect?accountId=..', undefined, /accountId/],
];

describe('validation', () => {
  it('answers 400 { error, message } naming the field, and calls nothing', async () => {
    f = await fakeAdminApp();
    for (const [method, url, body, hint] of BAD) {
      const res = await call(f.app, method, url, { body });
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body).toEqual({ error: expect.any(String), message: expect.stringMatching(hint) });
    }
    expect(f.calls()).toBe(0);
  });

  it('an account id whose callback URL Cronofy would refuse (over 128 characters) is refused, nothing stored', async () => {
    f = await fakeAdminApp();
    // PUBLIC_URL + /cronofy/notifications/ leaves room for 81 characters of account id here.
    const room = 128 - `${PUBLIC_URL}/cronofy/notifications/`.length;
    const long = 'a'.repeat(room + 1);
    const res = await call(f.app, 'POST', '/accounts', { body: { ...good, accountId: long } });
    expect(res).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', message: expect.stringMatching(/128/) },
    });
    expect(f.calls()).toBe(0);
    const fits = await call(f.app, 'POST', '/accounts', { body: { ...good, accountId: 'a'.repeat(room) } });
    expect(fits.status).toBe(201);
  });

  it('schema failures are invalid_request; a body that is not JSON is invalid_body', async () => {
    f = await fakeAdminApp();
    const schema = await call(f.app, 'POST', '/accounts', { body: { ...good, accountId: '' } });
    expect(schema).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const notJson = await f.app.inject({
      method: 'POST',
      url: '/accounts',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: '{"accountId":',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toEqual({ error: 'invalid_body', message: 'body is not valid JSON' });
    expect(f.calls()).toBe(0);
  });

  it('query strings are coerced to their types and defaults filled in before the reader is asked', async () => {
    f = await fakeAdminApp();
    f.stored.set('valid-1', accountInfo('valid-1'));
    const res = await call(f.app, 'GET', '/accounts/valid-1/events?from=2026-06-01&includeDeleted=true');
    expect(res).toEqual(expect.objectContaining({ status: 200, body: { events: [], nextCursor: null } }));
    expect(f.eventsReader.list).toHaveBeenCalledWith({
      accountId: 'valid-1',
      from: new Date('2026-06-01T00:00:00Z'),
      to: undefined,
      calendarId: undefined,
      includeDeleted: true,
      limit: 100,
      cursor: undefined,
    });
  });

  it("a cursor the reader refuses is 400 invalid_cursor with the reader's message", async () => {
    f = await fakeAdminApp();
    f.stored.set('valid-1', accountInfo('valid-1'));
    f.eventsReader.list.mockRejectedValueOnce(new InvalidCursorError('cursor belongs to another query'));
    expect(await call(f.app, 'GET', '/accounts/valid-1/events?cursor=abc')).toMatchObject({
      status: 400,
      body: { error: 'invalid_cursor', message: 'cursor belongs to another query' },
    });
  });

  it('an unexpected failure is a 500 that does not leak its message', async () => {
    f = await fakeAdminApp();
    f.accounts.get.mockRejectedValueOnce(new Error('connection pool exploded: mongodb://user:pw@host'));
    expect(await call(f.app, 'GET', '/accounts/valid-1')).toMatchObject({
      status: 500,
      body: { error: 'error', message: 'internal error' },
    });
  });
});

describe('unknown and closed accounts', () => {
  it('404 account_not_found on every account route, without asking Temporal', async () => {
    f = await fakeAdminApp();
    const routes: [method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown][] = [
      ['GET', '/accounts/nobody'],
      ['POST', '/accounts/nobody/sync', { mode: 'full' }],
      ['PUT', '/accounts/nobody/tokens', { accessToken: 'a', refreshToken: 'r' }],
      ['DELETE', '/accounts/nobody'],
      ['GET', '/accounts/nobody/events'],
    ];
    for (const [method, url, body] of routes) {
      expect(await call(f.app, method, url, { body }), `${method} ${url}`).toMatchObject({
        status: 404,
        body: { error: 'account_not_found', message: 'account nobody is not registered' },
      });
    }
    expect(f.accounts.get).toHaveBeenCalledTimes(routes.length);
    expect(f.calls()).toBe(routes.length);
  });

  it('409 account_closed for a sync or new tokens on a deregistered account', async () => {
    f = await fakeAdminApp();
    f.stored.set('gone-1', accountInfo('gone-1', { state: 'closed', deregisteredAt: new Date() }));
    expect(await call(f.app, 'POST', '/accounts/gone-1/sync', { body: { mode: 'full' } })).toMatchObject({
      status: 409,
      body: { error: 'account_closed' },
    });
    const put = await call(f.app, 'PUT', '/accounts/gone-1/tokens', {
      body: { accessToken: 'a', refreshToken: 'r' },
    });
    expect(put).toMatchObject({ status: 409, body: { error: 'account_closed' } });
    expect(f.accounts.replaceTokens).not.toHaveBeenCalled();
    expect(f.workflows.requestSync).not.toHaveBeenCalled();
    expect(f.workflows.tokensUpdated).not.toHaveBeenCalled();
  });

  it('DELETE on a closed account purges from the store only when asked, without the workflow', async () => {
    f = await fakeAdminApp();
    f.stored.set('gone-1', accountInfo('gone-1', { state: 'closed', deregisteredAt: new Date() }));
    expect(await call(f.app, 'DELETE', '/accounts/gone-1')).toEqual(
      expect.objectContaining({ status: 202, body: { accountId: 'gone-1', purge: false, status: 'closed' } }),
    );
    expect(f.events.deleteAccount).not.toHaveBeenCalled();
    expect(await call(f.app, 'DELETE', '/accounts/gone-1?purge=true')).toEqual(
      expect.objectContaining({
        status: 202,
        body: {
          accountId: 'gone-1',
          purge: true,
          status: 'purged',
          removed: { authorization: 'revoked', events: 7, calendars: 2, syncRuns: 3, account: true },
        },
      }),
    );
    // The authorization is revoked with the refresh token, before anything is deleted.
    expect(f.revokeToken).toHaveBeenCalledWith('RT-gone-1');
    expect(f.revokeToken.mock.invocationCallOrder[0]).toBeLessThan(
      f.events.deleteAccount.mock.invocationCallOrder[0] as number,
    );
    expect(f.events.deleteAccount).toHaveBeenCalledWith('gone-1');
    expect(f.syncRuns.deleteAccount).toHaveBeenCalledWith('gone-1');
    expect(f.accounts.delete).toHaveBeenCalledWith('gone-1');
    expect(f.workflows.deregister).not.toHaveBeenCalled();
  });

  it('a purge whose revocation Cronofy cannot answer deletes nothing: 502, retry later', async () => {
    f = await fakeAdminApp();
    f.stored.set('gone-2', accountInfo('gone-2', { state: 'closed', deregisteredAt: new Date() }));
    f.revokeToken.mockRejectedValueOnce(
      new CronofyServerError({ method: 'POST', path: '/oauth/token/revoke', status: 503 }),
    );
    expect(await call(f.app, 'DELETE', '/accounts/gone-2?purge=true')).toMatchObject({
      status: 502,
      body: { error: 'cronofy_unavailable' },
    });
    expect(f.events.deleteAccount).not.toHaveBeenCalled();
    expect(f.accounts.delete).not.toHaveBeenCalled();
  });

  it('DELETE with purge on a live account: the workflow will revoke and remove everything, and the answer says so', async () => {
    f = await fakeAdminApp();
    f.stored.set('live-1', accountInfo('live-1'));
    expect(await call(f.app, 'DELETE', '/accounts/live-1?purge=true')).toMatchObject({
      status: 202,
      body: {
        accountId: 'live-1',
        purge: true,
        status: 'deregistering',
        removes: ['cronofy_authorization', 'events', 'calendars', 'sync_runs', 'account'],
      },
    });
    expect(f.accounts.markDeregistering).toHaveBeenCalledWith('live-1');
    expect(f.workflows.deregister).toHaveBeenCalledWith('live-1', true);
  });

  it('registering while a deregistration is in progress is 409, and the workflow is not woken', async () => {
    f = await fakeAdminApp();
    f.accounts.register.mockResolvedValueOnce({ created: false, deregistering: true });
    const res = await call(f.app, 'POST', '/accounts', {
      body: { accountId: 'leaving-1', accessToken: 'a', refreshToken: 'r' },
    });
    expect(res).toMatchObject({ status: 409, body: { error: 'deregistration_in_progress' } });
    expect(f.workflows.start).not.toHaveBeenCalled();
    expect(f.workflows.tokensUpdated).not.toHaveBeenCalled();
  });
});
