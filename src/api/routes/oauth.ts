/**
 * Onboarding by Cronofy's OAuth authorization-code flow (the flow, tickets, states and the nonce
 * cookie are described in ../oauth.ts): `GET /oauth/connect` (admin bearer) makes a connect link,
 * `GET /oauth/start` (the user's browser) sets the nonce cookie and redirects to Cronofy,
 * `GET /oauth/callback` (the same browser) checks the state, its cookie and that it was not used
 * before, exchanges the code, reads the Cronofy identity (`sub`) and registers the account, or
 * stores the new tokens of a registered one, refusing a different identity unless the link said
 * `replaceIdentity=true` (then the old identity's channel is closed first).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AccountAuth } from '../../cronofy/client.js';
import { CronofyClientError, CronofyError } from '../../cronofy/errors.js';
import type { DataCenter, TokenResponse } from '../../cronofy/types.js';
import { ACCOUNT_ID_RE } from '../../domain.js';
import { ApiError, accountClosed } from '../api-error.js';
import { adminAuth } from '../auth.js';
import {
  authorizeUrl,
  newNonce,
  newState,
  newTicket,
  nonceCookie,
  nonceFromCookie,
  redirectUriFor,
  sameNonce,
  signState,
  stateKeys,
  verifyState,
} from '../oauth.js';
import { accountParams, BEARER, dataCenterSchema, errors, ref, useStrictValidation } from '../schemas.js';
import { type AdminDeps, adminCalls, deregistrationInProgress } from './admin-deps.js';

/** Both the connect link and the redirect to Cronofy's authorize page answer with a URL. */
export const linkSchema = {
  $id: 'Link',
  type: 'object',
  description: "A URL for the user's browser",
  properties: { url: { type: 'string' } },
  required: ['url'],
  example: { url: 'https://sync.example.com/oauth/start?ticket=eyJ2IjoxLCJh...' },
} as const;

export const oauthConnectedSchema = {
  $id: 'OAuthConnected',
  type: 'object',
  properties: {
    accountId: { type: 'string' },
    created: { type: 'boolean', description: 'false: a registered account got new tokens' },
    status: { type: 'string', enum: ['connected'] },
  },
  example: { accountId: 'user-42', created: true, status: 'connected' },
} as const;

const connectSchema = {
  operationId: 'createConnectLink',
  tags: ['oauth'],
  summary: 'Make a connect link for an account',
  description:
    "Answers with a connect link (`url`, `$PUBLIC_URL/oauth/start?ticket=…`, valid for an hour) for the service to hand to the user: opened in the user's browser it leads to Cronofy's authorize page, and the callback registers the account. `replaceIdentity=true` lets the callback replace the Cronofy identity behind an account already connected to another one (its old channel is closed); without it such a callback is refused (409 `identity_mismatch`).",
  security: BEARER,
  querystring: {
    type: 'object',
    properties: {
      accountId: accountParams.properties.accountId,
      dataCenter: dataCenterSchema,
      replaceIdentity: { type: 'boolean', default: false },
    },
    required: ['accountId'],
    additionalProperties: false,
  },
  response: {
    200: ref('Link', 'The connect link to hand to the user (valid for an hour)'),
    ...errors(400, 401, 503),
  },
} as const;

const startSchema = {
  operationId: 'startOAuth',
  tags: ['oauth'],
  summary: 'Connect link target (in the user browser)',
  description:
    "Sets an HttpOnly, SameSite=Lax cookie with a fresh nonce and redirects (302) to Cronofy's authorize page with a state carrying that nonce: the callback accepts the state only from this browser, once, within 10 minutes.",
  querystring: {
    type: 'object',
    properties: { ticket: { type: 'string', minLength: 1, maxLength: 4096 } },
    required: ['ticket'],
    additionalProperties: false,
  },
  response: {
    302: {
      ...ref('Link', "To Cronofy's authorize page (`Location`; the body repeats it as `url`)"),
      headers: {
        location: { type: 'string', description: "Cronofy's authorize URL" },
        'set-cookie': { type: 'string', description: 'The HttpOnly nonce cookie' },
      },
    },
    ...errors(400, 503),
  },
} as const;

const callbackSchema = {
  operationId: 'oauthCallback',
  tags: ['oauth'],
  summary: 'Cronofy OAuth redirect target',
  description:
    "Verifies the signed state, that it comes from the browser that opened the connect link (cookie) and was not used before, exchanges the code for tokens, reads the Cronofy identity (`sub`) and registers the account (201), or stores the new tokens of a registered one and resumes it (200). A different identity than the account's is refused (409 `identity_mismatch`) unless the link said `replaceIdentity=true`.",
  querystring: {
    type: 'object',
    properties: {
      code: { type: 'string', minLength: 1, maxLength: 2048 },
      state: { type: 'string', minLength: 1, maxLength: 4096 },
      error: { type: 'string', maxLength: 256 },
    },
    required: ['state'],
    additionalProperties: true,
  },
  response: {
    200: ref('OAuthConnected', 'A registered account got new tokens and resumes'),
    201: ref('OAuthConnected', 'The account was registered; its workflow started'),
    ...errors(400, 409, 502, 503),
  },
} as const;

const STATE_PROBLEMS = {
  malformed: 'is malformed',
  signature: 'is not ours',
  expired: 'has expired; start again',
} as const;

const invalidState = (why: string) => new ApiError(400, 'invalid_state', `OAuth state ${why}`);

export const oauthRoutes: FastifyPluginAsync<AdminDeps> = async (app, deps) => {
  const { config, workflows, accounts } = deps;
  const { temporal, startOrWake } = adminCalls(deps);
  const now = deps.now ?? Date.now;
  useStrictValidation(app);

  const configuredSecrets = (): string[] => {
    if (!config.cronofy.clientId || config.cronofy.clientSecrets.length === 0) {
      throw new ApiError(
        503,
        'oauth_not_configured',
        'CRONOFY_CLIENT_ID and CRONOFY_CLIENT_SECRET are required',
      );
    }
    return config.cronofy.clientSecrets;
  };
  const oauthKeys = (): Buffer[] => stateKeys(configuredSecrets());
  // `Secure` whenever the browser reaches us over https (always, outside local mode).
  const secureCookies = config.http.publicUrl.startsWith('https:');

  /** A client auth for tokens we hold only in memory: refreshed once, never stored. */
  const memoryAuth = (dataCenter: DataCenter, accessToken: string, refreshToken: string): AccountAuth => ({
    getAccessToken: async () => accessToken,
    refresh: async () => (await deps.cronofy(dataCenter).refreshToken(refreshToken)).access_token,
  });

  /** The Cronofy identity behind new tokens: from the token response, else `GET /v1/userinfo`. */
  const identityOf = async (dataCenter: DataCenter, tokens: TokenResponse & { sub?: string }) => {
    if (typeof tokens.sub === 'string' && tokens.sub !== '') return tokens.sub;
    try {
      const info = await deps
        .cronofy(dataCenter)
        .userInfo(memoryAuth(dataCenter, tokens.access_token, tokens.refresh_token));
      return info.sub;
    } catch (err) {
      if (err instanceof CronofyError)
        throw new ApiError(502, 'cronofy_unavailable', 'Cronofy UserInfo failed');
      throw err;
    }
  };

  /** The code for tokens, at the data center the state names; Cronofy's refusals become 400/502. */
  const exchange = async (dataCenter: DataCenter, code: string): Promise<TokenResponse> => {
    try {
      return await deps.cronofy(dataCenter).exchangeCode(code, redirectUriFor(config));
    } catch (err) {
      if (err instanceof CronofyClientError) {
        throw new ApiError(
          400,
          'invalid_code',
          'Cronofy refused the authorization code (expired or already used?)',
        );
      }
      if (err instanceof CronofyError)
        throw new ApiError(502, 'cronofy_unavailable', 'Cronofy token exchange failed');
      throw err;
    }
  };

  app.get<{ Querystring: { accountId: string; dataCenter?: DataCenter; replaceIdentity: boolean } }>(
    '/oauth/connect',
    { onRequest: adminAuth(config.adminToken), schema: connectSchema },
    async (req) => {
      const dataCenter = req.query.dataCenter ?? config.cronofy.dataCenter;
      const ticket = signState(
        newTicket(req.query.accountId, dataCenter, now(), req.query.replaceIdentity),
        stateKeys(configuredSecrets(), 'ticket'),
      );
      const url = new URL(`${config.http.publicUrl}/oauth/start`);
      url.searchParams.set('ticket', ticket);
      return { url: url.toString() };
    },
  );

  // Public: the user's browser opens the connect link.
  app.get<{ Querystring: { ticket: string } }>(
    '/oauth/start',
    { schema: startSchema },
    async (req, reply) => {
      const check = verifyState(req.query.ticket, stateKeys(configuredSecrets(), 'ticket'), now());
      if (!check.ok) {
        throw new ApiError(400, 'invalid_ticket', `connect link ${STATE_PROBLEMS[check.reason]}`);
      }
      const { accountId, dataCenter, replaceIdentity } = check.state;
      if (!ACCOUNT_ID_RE.test(accountId))
        throw new ApiError(400, 'invalid_ticket', 'connect link is malformed');
      const nonce = newNonce();
      const url = authorizeUrl({
        dataCenter,
        apiUrlOverride: config.cronofy.apiUrlOverride,
        clientId: config.cronofy.clientId,
        redirectUri: redirectUriFor(config),
        state: signState(newState(accountId, dataCenter, now(), { nonce, replaceIdentity }), oauthKeys()),
      });
      return reply
        .code(302)
        .header('set-cookie', nonceCookie(nonce, secureCookies))
        .header('cache-control', 'no-store')
        .header('location', url)
        .send({ url });
    },
  );

  // Public: Cronofy sends the user's browser here.
  app.get<{ Querystring: { code?: string; state: string; error?: string } }>(
    '/oauth/callback',
    // The URL carries the authorization code: keep it out of the request log lines.
    { logLevel: 'warn', schema: callbackSchema },
    async (req, reply) => {
      const check = verifyState(req.query.state, oauthKeys(), now());
      if (!check.ok) throw invalidState(STATE_PROBLEMS[check.reason]);
      const { accountId, dataCenter, nonce, replaceIdentity } = check.state;
      if (!ACCOUNT_ID_RE.test(accountId)) throw invalidState('is malformed');
      // Bound to the browser that opened the connect link, and single use (recorded until it expires).
      if (!sameNonce(nonceFromCookie(req.headers.cookie), nonce)) {
        throw invalidState('does not belong to this browser; open the connect link again');
      }
      // The cookie has done its job either way.
      reply.header('set-cookie', nonceCookie('', secureCookies, 0));
      if (!(await deps.oauthNonces.use(nonce, new Date(check.state.exp)))) {
        throw invalidState('was already used; open the connect link again');
      }
      if (req.query.error) {
        throw new ApiError(400, 'oauth_denied', `Cronofy did not authorize: ${req.query.error}`);
      }
      if (!req.query.code) throw new ApiError(400, 'invalid_request', 'querystring must have `code`');

      const tokens = await exchange(dataCenter, req.query.code);
      const sub = await identityOf(dataCenter, tokens);
      const accessTokenExpiresAt = tokens.expires_in ? new Date(now() + tokens.expires_in * 1000) : null;
      const existing = await accounts.get(accountId);
      const live = existing && !existing.deregisteredAt;
      if (live && existing.cronofySub && existing.cronofySub !== sub) {
        if (!replaceIdentity) {
          // Not ours to keep: the authorization we were just given is handed back.
          await deps
            .cronofy(dataCenter)
            .revokeToken(tokens.refresh_token)
            .catch(() => undefined);
          throw new ApiError(
            409,
            'identity_mismatch',
            `account ${accountId} is connected to another Cronofy identity; make a connect link with replaceIdentity=true to replace it`,
          );
        }
        await closeOldChannel(existing);
      }
      let created = false;
      if (live && existing.dataCenter === dataCenter) {
        // Re-authorization of a live account: new tokens, same settings.
        const stored = await accounts.replaceTokens(accountId, {
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token,
          accessTokenExpiresAt,
          cronofySub: sub,
        });
        if (!stored) throw accountClosed(accountId);
        // The workflow re-checks its channel with the new tokens (and creates one for a new identity).
        await temporal(() => workflows.tokensUpdated(accountId));
      } else {
        const registered = await accounts.register({
          accountId,
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token,
          dataCenter,
          calendarIds: existing?.calendarIds ?? null,
          accessTokenExpiresAt,
          cronofySub: sub,
        });
        if (registered.deregistering) throw deregistrationInProgress(accountId);
        created = registered.created;
        await startOrWake(accountId, created);
      }
      req.log.warn({ accountId, created }, 'account connected by OAuth');
      return reply.code(created ? 201 : 200).send({ accountId, created, status: 'connected' });
    },
  );

  /**
   * Replacing the identity: the old one's channel would keep pushing to this account's URL, and the
   * workflow cannot close it once the tokens are replaced. Closed with the OLD tokens, first.
   */
  async function closeOldChannel(existing: {
    accountId: string;
    dataCenter: DataCenter;
    channelId: string | null;
  }) {
    const old = await accounts.tokens(existing.accountId);
    if (!old || !existing.channelId) return;
    try {
      await deps
        .cronofy(existing.dataCenter)
        .closeChannel(memoryAuth(existing.dataCenter, old.accessToken, old.refreshToken), existing.channelId);
    } catch (err) {
      if (!(err instanceof CronofyError)) throw err;
      // The old authorization may be revoked already (the reason for reconnecting): nothing to close with.
      app.log.warn(
        { accountId: existing.accountId, err: err.message },
        'could not close the old identity channel',
      );
    }
  }
};
