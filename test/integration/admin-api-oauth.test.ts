/**
 * Onboarding by Cronofy OAuth against the simulator: `/oauth/connect` redirects to the authorize
 * page with a signed state, and `/oauth/callback` exchanges the code and registers the account,
 * whose workflow then creates its channel with the tokens it got.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newState, signState, stateKeys } from '../../src/api/oauth.js';
import { AccountsRepo } from '../../src/store/accounts-repo.js';
import { collections } from '../../src/store/db.js';
import { TokenCrypto } from '../../src/store/token-crypto.js';
import { uniqueName } from '../support/env.js';
import {
  ADMIN_TOKEN,
  eventually,
  type Stack,
  startStack,
  TEST_CLIENT_ID,
  TEST_SECRET,
} from '../support/stack.js';

let stack: Stack;
let redirectUri: string;
beforeAll(async () => {
  stack = await startStack();
  redirectUri = `${stack.config.http.publicUrl}/oauth/callback`;
});
afterAll(async () => {
  await stack?.close();
});

/** `GET /oauth/connect` through the real port: the 302 and its state. */
async function connect(accountId: string, auth = `Bearer ${ADMIN_TOKEN}`) {
  const res = await fetch(`${stack.apiUrl}/oauth/connect?accountId=${encodeURIComponent(accountId)}`, {
    headers: { authorization: auth },
    redirect: 'manual',
  });
  const location = res.headers.get('location');
  return { status: res.status, location: location ? new URL(location) : null, body: await res.json() };
}

/** What the user's browser does when Cronofy sends it back. */
async function callback(query: Record<string, string>) {
  const res = await fetch(`${stack.apiUrl}/oauth/callback?${new URLSearchParams(query)}`, {
    redirect: 'manual',
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const repo = () =>
  new AccountsRepo(collections(stack.db).accounts, new TokenCrypto(stack.config.tokenEncryptionKeys));

describe('OAuth onboarding', () => {
  it('connect redirects to the authorize page; the callback registers the account and its workflow runs', async () => {
    const accountId = uniqueName('user');
    const c = await connect(accountId);
    expect(c.status).toBe(302);
    expect(`${c.location?.origin}${c.location?.pathname}`).toBe(`${stack.sim.url}/oauth/authorize`);
    const q = Object.fromEntries(c.location?.searchParams ?? []);
    expect(q).toEqual({
      response_type: 'code',
      client_id: TEST_CLIENT_ID,
      redirect_uri: redirectUri,
      scope: 'read_events',
      state: expect.stringMatching(/^[\w-]+\.[\w-]{43}$/),
    });
    expect(c.body).toEqual({ url: c.location?.toString() });

    // The user consents at Cronofy (the simulator's account), which redirects back with a code.
    const cronofyAccount = stack.sim.createAccount({ calendarIds: ['cal_work'] });
    const code = stack.sim.createAuthorizationCode(cronofyAccount.accountId, { redirectUri });
    const cb = await callback({ code, state: q.state as string });
    expect(cb).toEqual({ status: 201, body: { accountId, created: true, status: 'connected' } });

    const stored = await repo().get(accountId);
    expect(stored).toMatchObject({
      accountId,
      dataCenter: 'us',
      calendarIds: null,
      state: 'active',
      tokenVersion: 1,
    });
    expect(stored?.accessTokenExpiresAt).toBeInstanceOf(Date);
    // The exchanged tokens work: the workflow creates the channel at Cronofy with them.
    await eventually(
      async () => stack.sim.channels(cronofyAccount.accountId).length === 1,
      20_000,
      'channel',
    );
    expect(stack.sim.channels(cronofyAccount.accountId)[0]?.callback_url).toBe(
      `${stack.config.http.publicUrl}/cronofy/notifications/${accountId}`,
    );

    // A code is single use.
    expect(await callback({ code, state: q.state as string })).toMatchObject({
      status: 400,
      body: { error: 'invalid_code' },
    });

    // Re-authorization of the same account: new tokens for the live account (200), same settings.
    const again = await connect(accountId);
    const code2 = stack.sim.createAuthorizationCode(cronofyAccount.accountId, { redirectUri });
    const cb2 = await callback({ code: code2, state: again.location?.searchParams.get('state') as string });
    expect(cb2).toEqual({ status: 200, body: { accountId, created: false, status: 'connected' } });
    expect(await repo().get(accountId)).toMatchObject({ tokenVersion: 2, state: 'active' });
    expect(await stack.api.workflows.isRunning(accountId)).toBe(true);
  });

  it('connect needs the admin bearer', async () => {
    const c = await connect('user-x', 'Bearer nope');
    expect(c.status).toBe(401);
    expect(c.location).toBeNull();
  });

  it('the callback refuses forged, altered, expired and foreign states, denials and bad codes, registering nothing', async () => {
    const accountId = uniqueName('user');
    const keys = stateKeys([TEST_SECRET]);
    const cronofyAccount = stack.sim.createAccount();
    const code = () => stack.sim.createAuthorizationCode(cronofyAccount.accountId, { redirectUri });
    const valid = (await connect(accountId)).location?.searchParams.get('state') as string;

    const [payload, sig] = valid.split('.') as [string, string];
    const altered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), accountId: 'victim' }),
    ).toString('base64url');
    const expired = signState({ ...newState(accountId, 'us', Date.now()), exp: Date.now() - 1 }, keys);
    const foreign = signState(newState(accountId, 'us', Date.now()), stateKeys(['CRN_someone_else']));
    for (const [state, reason] of [
      [`${altered}.${sig}`, /not ours/],
      [expired, /expired/],
      [foreign, /not ours/],
      ['garbage', /malformed/],
    ] as const) {
      const res = await callback({ code: code(), state });
      expect(res, state).toMatchObject({
        status: 400,
        body: { error: 'invalid_state', message: expect.stringMatching(reason) },
      });
    }
    expect(await callback({ error: 'access_denied', state: valid })).toMatchObject({
      status: 400,
      body: { error: 'oauth_denied' },
    });
    expect(await callback({ state: valid })).toMatchObject({ status: 400 });
    // A code issued for another redirect URI, and a made-up code: Cronofy refuses them.
    const otherRedirect = stack.sim.createAuthorizationCode(cronofyAccount.accountId, {
      redirectUri: 'https://evil.example/cb',
    });
    expect(await callback({ code: otherRedirect, state: valid })).toMatchObject({
      status: 400,
      body: { error: 'invalid_code' },
    });
    expect(await callback({ code: 'code_made_up', state: valid })).toMatchObject({
      status: 400,
      body: { error: 'invalid_code' },
    });

    expect(await repo().get(accountId)).toBeNull();
    expect(await repo().get('victim')).toBeNull();
    expect(await stack.api.workflows.exists(accountId)).toBe(false);
  });
});
