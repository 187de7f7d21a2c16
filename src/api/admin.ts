/**
 * Admin and read API: account onboarding (by tokens or Cronofy OAuth), status, manual syncs, new
 * tokens, deregistration, and the synced events from MongoDB.
 *
 * Everything under this plugin except `/oauth/callback` needs `Authorization: Bearer $ADMIN_TOKEN`
 * (no ADMIN_TOKEN configured: every call is 401). The check is an `onRequest` hook in this plugin's
 * own scope, so it runs before any parsing or validation and leaves the receiver, health, metrics
 * and docs routes alone. Routes talk to Temporal only through the `AccountWorkflows` gateway, and
 * to MongoDB through the store; OAuth tokens go from the request straight into `AccountsRepo`
 * (encrypted) and never into logs or workflow payloads.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { CronofyClient } from '../cronofy/client.js';
import { CronofyClientError, CronofyError } from '../cronofy/errors.js';
import type { DataCenter } from '../cronofy/types.js';
import { apiBaseUrl } from '../cronofy/urls.js';
import { ACCOUNT_ID_RE, type SyncKind } from '../domain.js';
import type { AccountInfo, AccountsRepo } from '../store/accounts-repo.js';
import type { Collections } from '../store/db.js';
import { EventsReader, InvalidCursorError } from '../store/events-query.js';
import { EventsRepo } from '../store/events-repo.js';
import { AccountNotFoundError, type AccountWorkflows } from '../temporal/account-workflows.js';
import type { AccountStatus, LastSync, SyncResult } from '../workflows/messages.js';
import {
  accountParams,
  BEARER,
  deleteSchema,
  type EventsQuerystring,
  errors,
  eventsSchema,
  type RegisterBody,
  registerSchema,
  type SyncBody,
  schemaErrorMessage,
  statusSchema,
  strictValidatorCompiler,
  syncSchema,
  type TokensBody,
  tokensSchema,
} from './admin-schemas.js';
import {
  ApiError,
  handleApiErrors,
  isTemporalUnreachable,
  notFound,
  temporalUnavailable,
} from './api-error.js';
import { authorizeUrl, newState, redirectUriFor, signState, stateKeys, verifyState } from './oauth.js';

export interface AdminDeps {
  config: Config;
  workflows: AccountWorkflows;
  accounts: AccountsRepo;
  collections: Collections;
  /** How long `POST /accounts/:id/sync?wait=true` waits before answering 202 "running". */
  syncWaitMs?: number;
  /** A Temporal call taking longer than this answers 503 (the status query falls back to MongoDB). */
  temporalTimeoutMs?: number;
  /** For the OAuth code exchange (tests). */
  fetch?: typeof fetch;
  now?: () => number;
}

export function bearerMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(header.slice(7)).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

type Params = { accountId: string };

/** `GET /accounts/:accountId`: the workflow's status, and where it came from. */
export type AccountStatusBody = AccountStatus & { workflowRunning: boolean; source: 'workflow' | 'store' };

const DEFAULT_SYNC_WAIT_MS = 120_000;
const DEFAULT_TEMPORAL_TIMEOUT_MS = 10_000;
const STATUS_QUERY_TIMEOUT_MS = 5_000;

class Timeout extends Error {}

/** Resolves like `p`, or rejects with `Timeout` after `ms`; `p` is left to settle unobserved. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined);
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function iso(d: Date | null | undefined): string | null {
  return d ? d.toISOString() : null;
}

export async function adminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { config, workflows, accounts } = deps;
  const eventsRepo = new EventsRepo(deps.collections.events);
  const reader = new EventsReader(deps.collections.events);
  const now = deps.now ?? Date.now;
  const temporalTimeoutMs = deps.temporalTimeoutMs ?? DEFAULT_TEMPORAL_TIMEOUT_MS;

  app.setValidatorCompiler(strictValidatorCompiler);
  app.setSchemaErrorFormatter(schemaErrorMessage);
  handleApiErrors(app);

  /** A Temporal call: unreachable or too slow is 503, the caller may retry. */
  const temporal = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await within(fn(), temporalTimeoutMs);
    } catch (err) {
      if (err instanceof Timeout || isTemporalUnreachable(err)) throw temporalUnavailable();
      throw err;
    }
  };

  const account = async (accountId: string): Promise<AccountInfo> => {
    const a = await accounts.get(accountId);
    if (!a) throw notFound(accountId);
    return a;
  };

  const closed = (accountId: string) =>
    new ApiError(409, 'account_closed', `account ${accountId} is deregistered; register it again first`);

  /** Starts the workflow of a (re)registered account, or wakes the running one for its new tokens. */
  const startOrWake = async (accountId: string, fresh: boolean): Promise<void> => {
    if (fresh && (await temporal(() => workflows.start(accountId))).started) return;
    await temporal(() => workflows.tokensUpdated(accountId));
  };

  /** From MongoDB alone: for a closed account, or a workflow that does not answer. */
  const storedStatus = async (a: AccountInfo, workflowRunning: boolean): Promise<AccountStatusBody> => {
    const runs = await deps.collections.syncRuns
      .find({ accountId: a.accountId, outcome: { $in: ['succeeded', 'failed'] } })
      .sort({ startedAt: -1 })
      .limit(20)
      .toArray();
    const lastSyncs: Partial<Record<SyncKind, LastSync>> = {};
    let lastSuccess: Date | null = null;
    for (const r of runs) {
      if (r.outcome !== 'succeeded' || lastSyncs[r.kind]) continue;
      const at = r.finishedAt ?? r.startedAt;
      lastSyncs[r.kind] = {
        kind: r.kind,
        at: at.toISOString(),
        upserted: r.upserted,
        deleted: r.deleted,
        pages: r.pages,
      };
      if (!lastSuccess || at > lastSuccess) lastSuccess = at;
    }
    const failed = runs[0]?.outcome === 'failed' ? runs[0] : undefined;
    return {
      accountId: a.accountId,
      state: a.state,
      channel: { id: a.channelId || null, lastNotificationAt: null, lastCheckedAt: null },
      lastSyncs,
      lastSuccessfulSyncAt: iso(lastSuccess),
      watermark: null,
      pending: {
        notifications: 0,
        earliestChangesSince: null,
        firstPendingAt: null,
        requested: [],
        syncDueAt: null,
      },
      running: null,
      nextFullSyncAt: null,
      nextWindowEdgeSyncAt: null,
      nextChannelCheckAt: null,
      failingSince: null,
      lastError: failed
        ? {
            message: failed.error ?? 'sync failed',
            type: null,
            at: (failed.finishedAt ?? failed.startedAt).toISOString(),
          }
        : null,
      profileDisconnected: null,
      workflowRunning,
      source: 'store',
    };
  };

  // ---- bearer-protected routes ---------------------------------------------------------------
  await app.register(async (authed) => {
    authed.addHook('onRequest', async (req: FastifyRequest, reply) => {
      if (!bearerMatches(req.headers.authorization, config.adminToken)) {
        reply.header('www-authenticate', 'Bearer');
        return reply
          .code(401)
          .send({ error: 'unauthorized', message: 'Authorization: Bearer <ADMIN_TOKEN> required' });
      }
    });

    authed.post<{ Body: RegisterBody }>('/accounts', { schema: registerSchema }, async (req, reply) => {
      const b = req.body;
      const { created } = await accounts.register({
        accountId: b.accountId,
        accessToken: b.accessToken,
        refreshToken: b.refreshToken,
        dataCenter: b.dataCenter ?? config.cronofy.dataCenter,
        calendarIds: b.calendarIds?.length ? b.calendarIds : null,
      });
      await startOrWake(b.accountId, created);
      req.log.info({ accountId: b.accountId, created }, 'account registered');
      return reply.code(created ? 201 : 200).send({ accountId: b.accountId, created });
    });

    authed.get<{ Params: Params }>(
      '/accounts/:accountId',
      { schema: statusSchema },
      async (req): Promise<AccountStatusBody> => {
        const a = await account(req.params.accountId);
        const extra = {
          dataCenter: a.dataCenter,
          calendarIds: a.calendarIds,
          registeredAt: iso(a.createdAt),
          deregisteredAt: iso(a.deregisteredAt),
        };
        const running = await temporal(() => workflows.isRunning(a.accountId));
        if (!running) return { ...(await storedStatus(a, false)), ...extra };
        try {
          const status = await within(workflows.status(a.accountId), STATUS_QUERY_TIMEOUT_MS);
          return { ...status, workflowRunning: true, source: 'workflow', ...extra };
        } catch (err) {
          // No worker to answer the query, or the run just ended: what MongoDB knows is still useful.
          if (!(err instanceof Timeout) && !(err instanceof AccountNotFoundError)) {
            if (isTemporalUnreachable(err)) throw temporalUnavailable();
            throw err;
          }
          req.log.warn({ accountId: a.accountId }, 'status query not answered; serving stored state');
          return { ...(await storedStatus(a, err instanceof Timeout)), ...extra };
        }
      },
    );

    authed.post<{ Params: Params; Body: SyncBody; Querystring: { wait: boolean } }>(
      '/accounts/:accountId/sync',
      { schema: syncSchema },
      async (req, reply) => {
        const a = await account(req.params.accountId);
        if (a.deregisteredAt) throw closed(a.accountId);
        const { mode } = req.body;
        const notRunning = new ApiError(
          409,
          'workflow_not_running',
          `the workflow of account ${a.accountId} is not running; PUT new tokens or register again to restart it`,
        );
        if (!req.query.wait) {
          try {
            await temporal(() => workflows.requestSync(a.accountId, mode));
          } catch (err) {
            if (err instanceof AccountNotFoundError) throw notRunning;
            throw err;
          }
          return reply.code(202).send({ accountId: a.accountId, mode, status: 'queued' });
        }
        // Checked first so that a closed workflow is a clear 409 and Temporal trouble a quick 503,
        // rather than a wait that ends in "still running".
        if (!(await temporal(() => workflows.isRunning(a.accountId)))) throw notRunning;
        let result: SyncResult;
        try {
          result = await within(
            workflows.syncNow(a.accountId, mode),
            deps.syncWaitMs ?? DEFAULT_SYNC_WAIT_MS,
          );
        } catch (err) {
          if (err instanceof Timeout)
            return reply.code(202).send({ accountId: a.accountId, mode, status: 'running' });
          throw syncFailure(err, notRunning);
        }
        return reply.code(200).send(result);
      },
    );

    authed.put<{ Params: Params; Body: TokensBody }>(
      '/accounts/:accountId/tokens',
      { schema: tokensSchema },
      async (req) => {
        const a = await account(req.params.accountId);
        if (a.deregisteredAt) throw closed(a.accountId);
        const stored = await accounts.replaceTokens(a.accountId, req.body);
        if (!stored) throw closed(a.accountId); // deregistered or purged since we looked
        await temporal(() => workflows.tokensUpdated(a.accountId));
        req.log.info({ accountId: a.accountId }, 'tokens replaced');
        return { accountId: a.accountId, updated: true };
      },
    );

    authed.delete<{ Params: Params; Querystring: { purge: boolean } }>(
      '/accounts/:accountId',
      { schema: deleteSchema },
      async (req, reply) => {
        const a = await account(req.params.accountId);
        const { purge } = req.query;
        if (a.deregisteredAt) {
          // The workflow is done with it (channel closed); only the purge is left, if asked.
          if (purge) {
            const events = await eventsRepo.deleteAccount(a.accountId);
            await accounts.delete(a.accountId);
            req.log.info({ accountId: a.accountId, events }, 'account purged');
          }
          return reply.code(202).send({ accountId: a.accountId, purge, status: purge ? 'purged' : 'closed' });
        }
        // Signal-with-start: a registered account whose workflow is gone (terminated by an
        // operator, say) gets one that only closes the channel: deregistration is its first step.
        await temporal(() => workflows.deregister(a.accountId, purge));
        req.log.info({ accountId: a.accountId, purge }, 'deregistration requested');
        return reply.code(202).send({ accountId: a.accountId, purge, status: 'deregistering' });
      },
    );

    authed.get<{ Params: Params; Querystring: EventsQuerystring }>(
      '/accounts/:accountId/events',
      { schema: eventsSchema },
      async (req) => {
        const q = req.query;
        const from = instant(q.from, 'from');
        const to = instant(q.to, 'to');
        if (from && to && from.getTime() >= to.getTime()) {
          throw new ApiError(400, 'invalid_range', '`from` must be before `to`');
        }
        const a = await account(req.params.accountId);
        try {
          return await reader.list({
            accountId: a.accountId,
            from,
            to,
            calendarId: q.calendarId,
            includeDeleted: q.includeDeleted,
            limit: q.limit,
            cursor: q.cursor,
          });
        } catch (err) {
          if (err instanceof InvalidCursorError) throw new ApiError(400, 'invalid_cursor', err.message);
          throw err;
        }
      },
    );

    authed.get<{ Querystring: { accountId: string; dataCenter?: DataCenter } }>(
      '/oauth/connect',
      {
        schema: {
          tags: ['oauth'],
          summary: 'Start Cronofy authorization for an account',
          description:
            "Redirects (302) to Cronofy's authorize page; the callback registers the account. The `Location` is also in the body, for a service that hands the link to the user.",
          security: BEARER,
          querystring: {
            type: 'object',
            properties: {
              accountId: accountParams.properties.accountId,
              dataCenter: registerSchema.body.properties.dataCenter,
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
        },
      },
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
  });

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

  // ---- public: Cronofy sends the user's browser here -------------------------------------------
  await app.register(async (pub) => {
    pub.get<{ Querystring: { code?: string; state: string; error?: string } }>(
      '/oauth/callback',
      {
        // The URL carries the authorization code: keep it out of the request log lines.
        logLevel: 'warn',
        schema: {
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
        },
      },
      async (req, reply) => {
        const keys = oauthKeys();
        const check = verifyState(req.query.state, keys, now());
        if (!check.ok) {
          const why = {
            malformed: 'is malformed',
            signature: 'is not ours',
            expired: 'has expired; start again',
          };
          throw new ApiError(400, 'invalid_state', `OAuth state ${why[check.reason]}`);
        }
        const { accountId, dataCenter } = check.state;
        if (!ACCOUNT_ID_RE.test(accountId))
          throw new ApiError(400, 'invalid_state', 'OAuth state is malformed');
        if (req.query.error) {
          throw new ApiError(400, 'oauth_denied', `Cronofy did not authorize: ${req.query.error}`);
        }
        if (!req.query.code) throw new ApiError(400, 'invalid_request', 'querystring must have `code`');

        const client = new CronofyClient({
          baseUrl: apiBaseUrl(dataCenter, config.cronofy.apiUrlOverride),
          clientId: config.cronofy.clientId,
          clientSecret: config.cronofy.clientSecrets[0] ?? '',
          timeoutMs: config.cronofy.requestTimeoutMs,
          fetch: deps.fetch,
        });
        let tokens: Awaited<ReturnType<CronofyClient['exchangeCode']>>;
        try {
          tokens = await client.exchangeCode(req.query.code, redirectUriFor(config));
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
          if (!stored) throw closed(accountId);
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
  });
}

/** `from`/`to`: a date-time with a zone, or a date (UTC midnight). */
function instant(text: string | undefined, name: string): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(d.getTime())) throw new ApiError(400, 'invalid_time', `\`${name}\` is not a valid time`);
  return d;
}

/** `syncNow` update failures → API errors. */
function syncFailure(err: unknown, notRunning: ApiError): unknown {
  if (err instanceof AccountNotFoundError) return notRunning;
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
    const message = cause?.message ?? err.message;
    // `SyncFailed`: the sync ran and failed. `AccountDeregistered` (deregistered while it waited)
    // and validator rejections (a closing account, a bad mode) are conflicts.
    if (cause?.type === 'SyncFailed') {
      return new ApiError(502, 'sync_failed', `sync failed: ${message}`);
    }
    return new ApiError(409, 'sync_rejected', message);
  }
  if (isTemporalUnreachable(err)) return temporalUnavailable();
  return err;
}
