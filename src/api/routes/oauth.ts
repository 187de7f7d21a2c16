/**
 * Onboarding by Cronofy's OAuth authorization-code flow (the state signing is in ../oauth.ts):
 * `GET /oauth/connect?accountId=` (admin bearer) redirects to Cronofy's authorize page;
 * `GET /oauth/callback?code=&state=` (public: a browser carries no bearer) verifies the state,
 * exchanges the code through the injected Cronofy client factory and registers the account, or
 * stores the new tokens of a registered one and resumes it.
 */
import type { FastifyPluginAsync } from 'fastify';
import { CronofyClientError, CronofyError } from '../../cronofy/errors.js';
import type { DataCenter, TokenResponse } from '../../cronofy/types.js';
import { ACCOUNT_ID_RE } from '../../domain.js';
import { ApiError, accountClosed } from '../api-error.js';
import { adminAuth } from '../auth.js';
import { authorizeUrl, newState, redirectUriFor, signState, stateKeys, verifyState } from '../oauth.js';
import { accountParams, BEARER, dataCenterSchema, errors, useStrictValidation } from '../schemas.js';
import { type AdminDeps, adminCalls } from './admin-deps.js';

const connectSchema = {
  tags: ['oauth'],
  summary: 'Start Cronofy authorization for an account',
  description:
    "Redirects (302) to Cronofy's authorize page; the callback registers the account. The `Location` is also in the body, for a service that hands the link to the user.",
  security: BEARER,
  querystring: {
    type: 'object',
    properties: {
      accountId: accountParams.properties.accountId,
      dataCenter: dataCenterSchema,
    },
    required: ['accountId'],
    additionalProperties: false,
  },
  response: {
    302: {
      type: 'object',
      description: "Redirect to Cronofy's authorize page (also in `url`)",
      properties: { url: { type: 'string' } },
    },
    ...errors(400, 401, 503),
  },
} as const;

const callbackSchema = {
  tags: ['oauth'],
  summary: 'Cronofy OAuth redirect target',
  description:
    'Verifies the signed state, exchanges the code for tokens and registers the account (201), or stores the new tokens of a registered one and resumes it (200).',
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
    ...Object.fromEntries(
      [200, 201].map((c) => [
        c,
        {
          type: 'object',
          properties: {
            accountId: { type: 'string' },
            created: { type: 'boolean' },
            status: { type: 'string' },
          },
        },
      ]),
    ),
    ...errors(400, 502, 503),
  },
} as const;

const STATE_PROBLEMS = {
  malformed: 'is malformed',
  signature: 'is not ours',
  expired: 'has expired; start again',
} as const;

export const oauthRoutes: FastifyPluginAsync<AdminDeps> = async (app, deps) => {
  const { config, workflows, accounts } = deps;
  const { temporal, startOrWake } = adminCalls(deps);
  const now = deps.now ?? Date.now;
  useStrictValidation(app);

  const oauthKeys = (): Buffer[] => {
    if (!config.cronofy.clientId || config.cronofy.clientSecrets.length === 0) {
      throw new ApiError(
        503,
        'oauth_not_configured',
        'CRONOFY_CLIENT_ID and CRONOFY_CLIENT_SECRET are required',
      );
    }
    return stateKeys(config.cronofy.clientSecrets);
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

  app.get<{ Querystring: { accountId: string; dataCenter?: DataCenter } }>(
    '/oauth/connect',
    { onRequest: adminAuth(config.adminToken), schema: connectSchema },
    async (req, reply) => {
      const keys = oauthKeys();
      const dataCenter = req.query.dataCenter ?? config.cronofy.dataCenter;
      const url = authorizeUrl({
        dataCenter,
        apiUrlOverride: config.cronofy.apiUrlOverride,
        clientId: config.cronofy.clientId,
        redirectUri: redirectUriFor(config),
        state: signState(newState(req.query.accountId, dataCenter, now()), keys),
      });
      return reply.code(302).header('location', url).send({ url });
    },
  );

  // Public: Cronofy sends the user's browser here.
  app.get<{ Querystring: { code?: string; state: string; error?: string } }>(
    '/oauth/callback',
    // The URL carries the authorization code: keep it out of the request log lines.
    { logLevel: 'warn', schema: callbackSchema },
    async (req, reply) => {
      const keys = oauthKeys();
      const check = verifyState(req.query.state, keys, now());
      if (!check.ok) {
        throw new ApiError(400, 'invalid_state', `OAuth state ${STATE_PROBLEMS[check.reason]}`);
      }
      const { accountId, dataCenter } = check.state;
      if (!ACCOUNT_ID_RE.test(accountId))
        throw new ApiError(400, 'invalid_state', 'OAuth state is malformed');
      if (req.query.error) {
        throw new ApiError(400, 'oauth_denied', `Cronofy did not authorize: ${req.query.error}`);
      }
      if (!req.query.code) throw new ApiError(400, 'invalid_request', 'querystring must have `code`');

      const tokens = await exchange(dataCenter, req.query.code);
      const accessTokenExpiresAt = tokens.expires_in ? new Date(now() + tokens.expires_in * 1000) : null;
      const existing = await accounts.get(accountId);
      let created = false;
      if (existing && !existing.deregisteredAt && existing.dataCenter === dataCenter) {
        // Re-authorization of a live account: new tokens, same settings.
        const stored = await accounts.replaceTokens(accountId, {
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token,
          accessTokenExpiresAt,
        });
        if (!stored) throw accountClosed(accountId);
        await temporal(() => workflows.tokensUpdated(accountId));
      } else {
        ({ created } = await accounts.register({
          accountId,
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token,
          dataCenter,
          calendarIds: existing?.calendarIds ?? null,
          accessTokenExpiresAt,
        }));
        await startOrWake(accountId, created);
      }
      req.log.warn({ accountId, created }, 'account connected by OAuth');
      return reply.code(created ? 201 : 200).send({ accountId, created, status: 'connected' });
    },
  );
};
