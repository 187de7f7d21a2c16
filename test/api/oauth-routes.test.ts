/**
 * The OAuth routes through `app.inject()` with fakes: the callback verifies the signed state before
 * anything else, exchanges the code through the injected Cronofy client factory at the state's data
 * center, and registers or re-authorizes the account. test/integration/admin-api-oauth.test.ts runs
 * the same flow against the simulator.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NONCE_COOKIE, newState, signState, stateKeys } from '../../src/api/oauth.js';
import { CronofyClientError, CronofyServerError } from '../../src/cronofy/errors.js';
import {
  accountInfo,
  CLIENT_SECRET,
  call,
  type Fakes,
  fakeAdminApp,
  PUBLIC_URL,
  testConfig,
} from './fakes.js';

let f: Fakes;
afterEach(async () => {
  await f?.close();
});

const NOW = Date.parse('2026-05-01T12:00:00Z');
/** A fresh state (its own nonce); `callback` sends the cookie holding that nonce unless told otherwise. */
const state = (accountId: string, dataCenter: 'us' | 'de' = 'de', secret = CLIENT_SECRET) =>
  signState(newState(accountId, dataCenter, NOW), stateKeys([secret]));
const nonceOf = (s: string): string => {
  try {
    return JSON.parse(Buffer.from(s.split('.')[0] as string, 'base64url').toString()).nonce ?? '';
  } catch {
    return '';
  }
};
const callback = async (
  query: Record<string, string>,
  cookie = `${NONCE_COOKIE}=${nonceOf(query.state ?? '')}`,
) => {
  const res = await f.app.inject({
    method: 'GET',
    url: `/oauth/callback?${new URLSearchParams(query)}`,
    headers: { cookie },
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown>, headers: res.headers };
};

describe('GET /oauth/connect and /oauth/start', () => {
  it('connect makes a link; the browser that opens it gets the cookie and a state the callback accepts', async () => {
    f = await fakeAdminApp({ deps: { now: () => NOW } });
    const res = await call(f.app, 'GET', '/oauth/connect?accountId=user-1&dataCenter=de');
    expect(res.status).toBe(200);
    const link = new URL(res.body.url as string);
    expect(`${link.origin}${link.pathname}`).toBe(`${PUBLIC_URL}/oauth/start`);
    const start = await f.app.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(start.statusCode).toBe(302);
    const location = new URL(start.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe('https://app-de.cronofy.com/oauth/authorize');
    expect(location.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/oauth/callback`);
    const setCookie = String(start.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly; SameSite=Lax; Secure$/);
    const cookie = setCookie.split(';')[0] as string;
    const cb = await callback({ code: 'c-1', state: location.searchParams.get('state') as string }, cookie);
    expect(cb.status).toBe(201);
    expect(String(cb.headers['set-cookie'])).toMatch(/Max-Age=0/);
    expect(f.cronofy).toHaveBeenCalledWith('de');
  });

  it('503 oauth_not_configured without client credentials (local mode allows starting without them)', async () => {
    f = await fakeAdminApp({ config: testConfig({ CRONOFY_CLIENT_ID: undefined, LOCAL_MODE: '1' }) });
    expect(await call(f.app, 'GET', '/oauth/connect?accountId=user-1')).toMatchObject({
      status: 503,
      body: { error: 'oauth_not_configured' },
    });
  });
});

describe('the callback: browser binding, single use, Cronofy identity', () => {
  it('refuses a state without its cookie, and a state used before, before asking Cronofy', async () => {
    f = await fakeAdminApp({ deps: { now: () => NOW } });
    const s = state('user-1');
    for (const cookie of ['', `${NONCE_COOKIE}=${'m'.repeat(22)}`, `other=${nonceOf(s)}`]) {
      expect(await callback({ code: 'c', state: s }, cookie)).toMatchObject({
        status: 400,
        body: { error: 'invalid_state', message: expect.stringMatching(/browser/) },
      });
    }
    expect(f.exchangeCode).not.toHaveBeenCalled();
    expect((await callback({ code: 'c', state: s })).status).toBe(201);
    expect(await callback({ code: 'c2', state: s })).toMatchObject({
      status: 400,
      body: { error: 'invalid_state', message: expect.stringMatching(/already used/) },
    });
    expect(f.exchangeCode).toHaveBeenCalledTimes(1);
  });

  it('reads sub from UserInfo when the token response has none, and stores it', async () => {
    f = await fakeAdminApp({ deps: { now: () => NOW } });
    await callback({ code: 'c-1', state: state('user-1') });
    expect(f.userInfo).toHaveBeenCalledTimes(1);
    expect(f.accounts.register).toHaveBeenCalledWith(expect.objectContaining({ cronofySub: 'sub_fake' }));
  });

  it('another identity for a connected account: 409 identity_mismatch, tokens kept, the new ones handed back', async () => {
    f = await fakeAdminApp({ deps: { now: () => NOW } });
    f.stored.set('user-1', accountInfo('user-1', { dataCenter: 'de', cronofySub: 'sub_original' }));
    expect(await callback({ code: 'c-1', state: state('user-1') })).toMatchObject({
      status: 409,
      body: { error: 'identity_mismatch' },
    });
    expect(f.accounts.replaceTokens).not.toHaveBeenCalled();
    expect(f.accounts.register).not.toHaveBeenCalled();
    expect(f.revokeToken).toHaveBeenCalledWith('RT-from-cronofy');
  });
});

describe('GET /oauth/callback', () => {
  it("exchanges the code at the state's data center and registers the account (201)", async () => {
    f = await fakeAdminApp({ deps: { now: () => NOW } });
    const res = await callback({ code: 'c-1', state: state('user-1') });
    expect(res).toEqual(
      expect.objectContaining({
        status: 201,
        body: { accountId: 'user-1', created: true, status: 'connected' },
      }),
    );
    expect(f.cronofy).toHaveBeenCalledWith('de');
    expect(f.exchangeCode).toHaveBeenCalledWith('c-1', `${PUBLIC_URL}/oauth/callback`);
    expect(f.accounts.register).toHaveBeenCalledWith({
      accountId: 'user-1',
      accessToken: 'AT-from-cronofy',
      refreshToken: 'RT-from-cronofy',
      dataCenter: 'de',
      calendarIds: null,
      accessTokenExpiresAt: new Date(NOW + 3600_000),
      cronofySub: 'sub_fake',
    });
    expect(f.workflows.start).toHaveBeenCalledWith('user-1');
  });

  it('re-authorizing a live account stores its new tokens and wakes it (200), keeping its settings', async () => {
    f = await fakeAdminApp({ deps: { now: () => NOW } });
    f.stored.set('user-1', accountInfo('user-1', { dataCenter: 'de', calendarIds: ['cal_1'] }));
    const res = await callback({ code: 'c-2', state: state('user-1') });
    expect(res).toMatchObject({ status: 200, body: { created: false } });
    expect(f.accounts.replaceTokens).toHaveBeenCalledWith('user-1', {
      accessToken: 'AT-from-cronofy',
      refreshToken: 'RT-from-cronofy',
      accessTokenExpiresAt: new Date(NOW + 3600_000),
      cronofySub: 'sub_fake',
    });
    expect(f.accounts.register).not.toHaveBeenCalled();
    expect(f.workflows.tokensUpdated).toHaveBeenCalledWith('user-1');
  });

  it('refuses states that are not ours, expired or malformed before calling Cronofy', async () => {
    f = await fakeAdminApp({ deps: { now: () => NOW } });
    const expired = signState({ ...newState('user-1', 'us', NOW), exp: NOW - 1 }, stateKeys([CLIENT_SECRET]));
    for (const [s, why] of [
      [state('user-1', 'us', 'CRN_someone_else'), /not ours/],
      [expired, /expired/],
      ['garbage', /malformed/],
      [state('..'), /malformed/],
    ] as const) {
      expect(await callback({ code: 'c', state: s }), s).toMatchObject({
        status: 400,
        body: { error: 'invalid_state', message: expect.stringMatching(why) },
      });
    }
    expect(await callback({ error: 'access_denied', state: state('user-1') })).toMatchObject({
      status: 400,
      body: { error: 'oauth_denied' },
    });
    expect(await callback({ state: state('user-1') })).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
    // Nothing but the record of used states (a denied or code-less callback uses its state up).
    expect(f.calls() - f.oauthNonces.use.mock.calls.length).toBe(0);
  });

  it("Cronofy's refusal is 400 invalid_code, its failure 502; nothing is registered", async () => {
    f = await fakeAdminApp({ deps: { now: () => NOW } });
    const init = { method: 'POST', path: '/oauth/token' };
    f.exchangeCode.mockRejectedValueOnce(new CronofyClientError({ ...init, status: 400 }));
    expect(await callback({ code: 'used', state: state('user-1') })).toMatchObject({
      status: 400,
      body: { error: 'invalid_code' },
    });
    f.exchangeCode.mockRejectedValueOnce(new CronofyServerError({ ...init, status: 503 }));
    expect(await callback({ code: 'c', state: state('user-1') })).toMatchObject({
      status: 502,
      body: { error: 'cronofy_unavailable' },
    });
    expect(f.accounts.register).not.toHaveBeenCalled();
    expect(f.workflows.start).not.toHaveBeenCalled();
  });
});
