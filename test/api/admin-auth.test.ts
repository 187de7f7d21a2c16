/**
 * Bearer auth of the admin API through `app.inject()` with fakes: which routes need the token,
 * that a refused call reaches nothing behind the API, and that the check comes before validation.
 * (test/integration/admin-api.test.ts covers the same on the real stack, through a real port.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, accountInfo, call, type Fakes, fakeAdminApp, testConfig } from './fakes.js';

const ROUTES: [method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown][] = [
  ['POST', '/accounts', { accountId: 'user-1', accessToken: 'a', refreshToken: 'r' }],
  ['GET', '/accounts/user-1'],
  ['GET', '/accounts?state=degraded'],
  ['POST', '/accounts/user-1/sync', { mode: 'full' }],
  ['PUT', '/accounts/user-1/tokens', { accessToken: 'a', refreshToken: 'r' }],
  ['DELETE', '/accounts/user-1'],
  ['GET', '/accounts/user-1/events'],
  ['GET', '/accounts/user-1/calendars'],
  ['GET', '/oauth/connect?accountId=user-1'],
];

const WRONG = [null, 'Bearer wrong', `Basic ${ADMIN_TOKEN}`, `Bearer ${ADMIN_TOKEN}x`, 'Bearer ', 'bearer x'];

let f: Fakes;
afterEach(async () => {
  await f?.close();
});

describe('admin bearer auth', () => {
  it('every admin route answers 401 unauthorized with WWW-Authenticate, and calls nothing', async () => {
    f = await fakeAdminApp();
    f.stored.set('user-1', accountInfo('user-1'));
    for (const auth of WRONG) {
      for (const [method, url, body] of ROUTES) {
        const res = await call(f.app, method, url, { body, auth });
        expect(res.status, `${method} ${url} with ${auth}`).toBe(401);
        expect(res.body).toEqual({
          error: 'unauthorized',
          message: 'Authorization: Bearer <ADMIN_TOKEN> required',
        });
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.headers['x-request-id']).toEqual(expect.any(String));
      }
    }
    expect(f.calls()).toBe(0);
  });

  it('comes before validation: a bad body without a token is 401, not 400', async () => {
    f = await fakeAdminApp();
    expect((await call(f.app, 'POST', '/accounts', { body: { nonsense: 1 }, auth: null })).status).toBe(401);
    expect((await call(f.app, 'GET', '/accounts/a%20b', { auth: null })).status).toBe(401);
    expect((await call(f.app, 'GET', '/oauth/connect', { auth: null })).status).toBe(401);
    expect(f.calls()).toBe(0);
  });

  it('with no ADMIN_TOKEN configured, every admin call is 401, whatever the header', async () => {
    f = await fakeAdminApp({ config: testConfig({ ADMIN_TOKEN: undefined }) });
    expect(f.config.adminToken).toBeUndefined();
    for (const auth of ['Bearer ', 'Bearer undefined', `Bearer ${ADMIN_TOKEN}`, null]) {
      for (const [method, url, body] of ROUTES) {
        expect((await call(f.app, method, url, { body, auth })).status, `${method} ${url}`).toBe(401);
      }
    }
    expect(f.calls()).toBe(0);
  });

  it('with the token, the call goes through to the account store and the workflow gateway', async () => {
    f = await fakeAdminApp();
    const res = await call(f.app, 'POST', '/accounts', {
      body: { accountId: 'user-1', accessToken: 'a', refreshToken: 'r' },
    });
    expect(res).toMatchObject({ status: 201, body: { accountId: 'user-1', created: true } });
    expect(f.accounts.register).toHaveBeenCalledWith({
      accountId: 'user-1',
      accessToken: 'a',
      refreshToken: 'r',
      dataCenter: 'us',
      calendarIds: null,
    });
    expect(f.workflows.start).toHaveBeenCalledWith('user-1');
    expect(f.workflows.tokensUpdated).not.toHaveBeenCalled();
  });

  it('leaves health, metrics, docs and the OAuth callback public', async () => {
    f = await fakeAdminApp();
    for (const url of ['/healthz', '/readyz', '/metrics', '/docs/json']) {
      expect((await f.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
    // The callback answers for itself (a state that is not ours), not with the admin 401.
    const cb = await call(f.app, 'GET', '/oauth/callback?code=x&state=y', { auth: null });
    expect(cb).toMatchObject({ status: 400, body: { error: 'invalid_state' } });
    expect(f.calls()).toBe(0);
  });
});
