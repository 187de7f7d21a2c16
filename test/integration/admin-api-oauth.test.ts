/**
 * Onboarding by Cronofy OAuth through a real port against the simulator: `/oauth/connect` (admin)
 * makes a connect link; `/oauth/start` (the user's browser) sets the nonce cookie and redirects to
 * the authorize page with a state carrying it; `/oauth/callback` (the same browser) accepts the
 * state once, exchanges the code, stores the Cronofy identity (`sub`) and registers the account,
 * whose workflow creates its channel with the tokens it got. A callback for another identity is
 * refused unless the link said `replaceIdentity=true`, which closes the old identity's channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NONCE_COOKIE, newState, signState, stateKeys } from '../../src/api/oauth.js';
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

/** `GET /oauth/connect` (admin): the connect link. */
async function connect(accountId: string, opts: { auth?: string; replaceIdentity?: boolean } = {}) {
  const q = new URLSearchParams({ accountId, ...(opts.replaceIdentity ? { replaceIdentity: 'true' } : {}) });
  const res = await fetch(`${stack.apiUrl}/oauth/connect?${q}`, {
    headers: { authorization: opts.auth ?? `Bearer ${ADMIN_TOKEN}` },
  });
  return { status: res.status, body: (await res.json()) as { url?: string; error?: string } };
}

/** A browser: opens the connect link, keeps the cookie, and is sent to Cronofy's authorize page. */
async function openLink(link: string) {
  const res = await fetch(link, { redirect: 'manual' });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const location = new URL(res.headers.get('location') as string);
  return {
    status: res.status,
    setCookie,
    cookie: setCookie.split(';')[0] as string,
    location,
    state: location.searchParams.get('state') as string,
  };
}

/** What a browser does when Cronofy sends it back (with its cookie, or another browser's). */
async function callback(query: Record<string, string>, cookie?: string) {
  const res = await fetch(`${stack.apiUrl}/oauth/callback?${new URLSearchParams(query)}`, {
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The whole flow in one browser, for a Cronofy account of the simulator. */
async function authorize(
  accountId: string,
  cronofyAccountId: string,
  opts: { replaceIdentity?: boolean } = {},
) {
  const link = (await connect(accountId, opts)).body.url as string;
  const browser = await openLink(link);
  const code = stack.sim.createAuthorizationCode(cronofyAccountId, { redirectUri });
  return callback({ code, state: browser.state }, browser.cookie);
}

const repo = () =>
  new AccountsRepo(collections(stack.db).accounts, new TokenCrypto(stack.config.tokenEncryptionKeys));
const rawAccount = (accountId: string) => collections(stack.db).accounts.findOne({ _id: accountId });

describe('OAuth onboarding', () => {
  it('connect link → browser with cookie → Cronofy → callback registers the account with its identity', async () => {
    const accountId = uniqueName('user');
    const c = await connect(accountId);
    expect(c.status).toBe(200);
    const link = new URL(c.body.url as string);
    expect(`${link.origin}${link.pathname}`).toBe(`${stack.config.http.publicUrl}/oauth/start`);

    const browser = await openLink(link.toString());
    expect(browser.status).toBe(302);
    expect(`${browser.location.origin}${browser.location.pathname}`).toBe(`${stack.sim.url}/oauth/authorize`);
    expect(Object.fromEntries(browser.location.searchParams)).toEqual({
      response_type: 'code',
      client_id: TEST_CLIENT_ID,
      redirect_uri: redirectUri,
      scope: 'read_events',
      state: expect.stringMatching(/^[\w-]+\.[\w-]{43}$/),
    });
    expect(browser.setCookie).toMatch(new RegExp(`^${NONCE_COOKIE}=[\\w-]{22}; `));
    expect(browser.setCookie).toMatch(/HttpOnly/);
    expect(browser.setCookie).toMatch(/SameSite=Lax/);
    expect(browser.setCookie).toMatch(/Path=\/oauth\/callback/);
    expect(browser.setCookie).toMatch(/Max-Age=600/);

    const cronofyAccount = stack.sim.createAccount({ calendarIds: ['cal_work'] });
    const code = stack.sim.createAuthorizationCode(cronofyAccount.accountId, { redirectUri });
    const cb = await callback({ code, state: browser.state }, browser.cookie);
    expect(cb).toEqual({ status: 201, body: { accountId, created: true, status: 'connected' } });
    expect(await rawAccount(accountId)).toMatchObject({
      cronofySub: cronofyAccount.accountId,
      state: 'active',
    });
    await eventually(
      async () => stack.sim.channels(cronofyAccount.accountId).length === 1,
      20_000,
      'channel',
    );
    expect(stack.sim.channels(cronofyAccount.accountId)[0]?.callback_url).toBe(
      `${stack.config.http.publicUrl}/cronofy/notifications/${accountId}`,
    );

    // The same state replayed, even with the cookie and a fresh code: refused before Cronofy is asked.
    const code2 = stack.sim.createAuthorizationCode(cronofyAccount.accountId, { redirectUri });
    expect(await callback({ code: code2, state: browser.state }, browser.cookie)).toMatchObject({
      status: 400,
      body: { error: 'invalid_state', message: expect.stringMatching(/already used/) },
    });

    // Re-authorization with the same identity: new tokens for the live account (200).
    expect(await authorize(accountId, cronofyAccount.accountId)).toEqual({
      status: 200,
      body: { accountId, created: false, status: 'connected' },
    });
    expect(await repo().get(accountId)).toMatchObject({ tokenVersion: 2, state: 'active' });
  });

  it('a state from another browser (no cookie, or another nonce) is refused, and the link stays usable', async () => {
    const accountId = uniqueName('user');
    const cronofyAccount = stack.sim.createAccount();
    const link = (await connect(accountId)).body.url as string;
    const victim = await openLink(link);
    const attacker = await openLink(link);
    const code = () => stack.sim.createAuthorizationCode(cronofyAccount.accountId, { redirectUri });
    for (const cookie of [undefined, attacker.cookie, `${NONCE_COOKIE}=`]) {
      expect(await callback({ code: code(), state: victim.state }, cookie)).toMatchObject({
        status: 400,
        body: { error: 'invalid_state', message: expect.stringMatching(/browser/) },
      });
    }
    expect(await repo().get(accountId)).toBeNull();
    // The right browser still completes (refusals did not use the state up).
    expect((await callback({ code: code(), state: victim.state }, victim.cookie)).status).toBe(201);
  });

  it('refuses another Cronofy identity (409) unless the link says replaceIdentity, which closes the old channel', async () => {
    const accountId = uniqueName('user');
    const first = stack.sim.createAccount({ calendarIds: ['cal_a'] });
    const second = stack.sim.createAccount({ calendarIds: ['cal_b'] });
    expect((await authorize(accountId, first.accountId)).status).toBe(201);
    await eventually(async () => stack.sim.channels(first.accountId).length === 1, 20_000, 'first channel');
    const tokensBefore = await repo().tokens(accountId);

    expect(await authorize(accountId, second.accountId)).toMatchObject({
      status: 409,
      body: { error: 'identity_mismatch' },
    });
    expect(await repo().tokens(accountId)).toMatchObject({ refreshToken: tokensBefore?.refreshToken });
    expect(await rawAccount(accountId)).toMatchObject({ cronofySub: first.accountId });
    expect(stack.sim.channels(first.accountId)).toHaveLength(1);

    expect(await authorize(accountId, second.accountId, { replaceIdentity: true })).toEqual({
      status: 200,
      body: { accountId, created: false, status: 'connected' },
    });
    expect(await rawAccount(accountId)).toMatchObject({ cronofySub: second.accountId });
    // The old identity's channel is closed (with its old tokens); the workflow opens one for the new.
    expect(stack.sim.channels(first.accountId)).toHaveLength(0);
    await eventually(async () => stack.sim.channels(second.accountId).length === 1, 20_000, 'new channel');
  });

  it('connect needs the admin bearer', async () => {
    expect((await connect('user-x', { auth: 'Bearer nope' })).status).toBe(401);
  });

  it('the callback refuses forged, altered, expired and foreign states, denials and bad codes, registering nothing', async () => {
    const accountId = uniqueName('user');
    const keys = stateKeys([TEST_SECRET]);
    const cronofyAccount = stack.sim.createAccount();
    const code = () => stack.sim.createAuthorizationCode(cronofyAccount.accountId, { redirectUri });
    const fresh = async () => openLink((await connect(accountId)).body.url as string);
    const b = await fresh();

    const [payload, sig] = b.state.split('.') as [string, string];
    const altered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), accountId: 'victim' }),
    ).toString('base64url');
    const nonce = b.cookie.split('=')[1] as string;
    const expired = signState(
      { ...newState(accountId, 'us', Date.now(), { nonce }), exp: Date.now() - 1 },
      keys,
    );
    const foreign = signState(
      newState(accountId, 'us', Date.now(), { nonce }),
      stateKeys(['CRN_someone_else']),
    );
    const ticketAsState = new URL((await connect(accountId)).body.url as string).searchParams.get(
      'ticket',
    ) as string;
    for (const [state, reason] of [
      [`${altered}.${sig}`, /not ours/],
      [expired, /expired/],
      [foreign, /not ours/],
      [ticketAsState, /not ours/],
      ['garbage', /malformed/],
    ] as const) {
      const res = await callback({ code: code(), state }, b.cookie);
      expect(res, state).toMatchObject({
        status: 400,
        body: { error: 'invalid_state', message: expect.stringMatching(reason) },
      });
    }
    const denied = await fresh();
    expect(await callback({ error: 'access_denied', state: denied.state }, denied.cookie)).toMatchObject({
      status: 400,
      body: { error: 'oauth_denied' },
    });
    // A code issued for another redirect URI, and a made-up code: Cronofy refuses them.
    const other = await fresh();
    const otherRedirect = stack.sim.createAuthorizationCode(cronofyAccount.accountId, {
      redirectUri: 'https://evil.example/cb',
    });
    expect(await callback({ code: otherRedirect, state: other.state }, other.cookie)).toMatchObject({
      status: 400,
      body: { error: 'invalid_code' },
    });
    const madeUp = await fresh();
    expect(await callback({ code: 'code_made_up', state: madeUp.state }, madeUp.cookie)).toMatchObject({
      status: 400,
      body: { error: 'invalid_code' },
    });
    // A connect link that was tampered with or is not ours.
    const badTicket = await fetch(`${stack.apiUrl}/oauth/start?ticket=${encodeURIComponent(b.state)}`, {
      redirect: 'manual',
    });
    expect(badTicket.status).toBe(400);
    expect(await badTicket.json()).toMatchObject({ error: 'invalid_ticket' });

    expect(await repo().get(accountId)).toBeNull();
    expect(await repo().get('victim')).toBeNull();
    expect(await stack.api.workflows.exists(accountId)).toBe(false);
  });
});
