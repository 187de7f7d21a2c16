/**
 * The account routes of the admin API: register (`POST /accounts`), status, manual syncs, new
 * tokens and deregistration. Bearer-protected (../auth.ts). OAuth tokens go from the request
 * straight into `AccountsRepo` (encrypted) and never into logs or workflow payloads.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyPluginAsync } from 'fastify';
import { CronofyError } from '../../cronofy/errors.js';
import { MAX_CALLBACK_URL_LENGTH } from '../../cronofy/urls.js';
import { callbackUrlFor } from '../../domain.js';
import { TimeoutError, withTimeout } from '../../lib/timeout.js';
import { purgeAccount } from '../../store/account-purge.js';
import { AccountNotFoundError } from '../../temporal/account-workflows.js';
import type { SyncResult } from '../../workflows/messages.js';
import { ApiError, accountClosed, isTemporalUnreachable, temporalUnavailable } from '../api-error.js';
import { adminAuth } from '../auth.js';
import { type AccountParams, useStrictValidation } from '../schemas.js';
import { type AccountStatusBody, progressOf, registration, storedStatus } from './account-status.js';
import {
  deleteSchema,
  type RegisterBody,
  registerSchema,
  type SyncBody,
  statusSchema,
  syncSchema,
  type TokensBody,
  tokensSchema,
} from './accounts-schemas.js';
import { type AdminDeps, adminCalls, deregistrationInProgress } from './admin-deps.js';

const DEFAULT_SYNC_WAIT_MS = 120_000;
const STATUS_QUERY_TIMEOUT_MS = 5_000;

const timedOut = (): never => {
  throw new TimeoutError();
};

/** What a purge removes, in the order it does (../../store/account-purge.ts). */
const PURGED = ['cronofy_authorization', 'events', 'calendars', 'sync_runs', 'account'];

export const accountsRoutes: FastifyPluginAsync<AdminDeps> = async (app, deps) => {
  const { config, workflows, accounts } = deps;
  const { temporal, account, startOrWake } = adminCalls(deps);

  /** A closed account's purge, here and now (its workflow has ended). */
  const purgeNow = async (accountId: string) => {
    try {
      return await purgeAccount(
        {
          accounts,
          events: deps.events,
          calendars: deps.calendars,
          syncRuns: deps.syncRuns,
          revokeToken: (dataCenter, token) => deps.cronofy(dataCenter).revokeToken(token),
        },
        accountId,
      );
    } catch (err) {
      if (err instanceof CronofyError) {
        throw new ApiError(
          502,
          'cronofy_unavailable',
          'Cronofy did not revoke the authorization; nothing was deleted, retry later',
        );
      }
      throw err;
    }
  };
  useStrictValidation(app);
  app.addHook('onRequest', adminAuth(config.adminToken));

  app.post<{ Body: RegisterBody }>('/accounts', { schema: registerSchema }, async (req, reply) => {
    const b = req.body;
    const callbackUrl = callbackUrlFor(config.http.publicUrl, b.accountId);
    if (callbackUrl.length > MAX_CALLBACK_URL_LENGTH) {
      // Cronofy would refuse the channel later, and the account would never sync: say so now.
      throw new ApiError(
        400,
        'invalid_request',
        `accountId: its callback URL would be ${callbackUrl.length} characters; Cronofy accepts at most ${MAX_CALLBACK_URL_LENGTH} (a shorter account id, or a shorter PUBLIC_URL)`,
      );
    }
    const { created, deregistering } = await accounts.register({
      accountId: b.accountId,
      accessToken: b.accessToken,
      refreshToken: b.refreshToken,
      dataCenter: b.dataCenter ?? config.cronofy.dataCenter,
      calendarIds: b.calendarIds?.length ? b.calendarIds : null,
    });
    // The workflow would finish the deregistration right after and leave the account closed.
    if (deregistering) throw deregistrationInProgress(b.accountId);
    await startOrWake(b.accountId, created);
    req.log.info({ accountId: b.accountId, created }, 'account registered');
    return reply.code(created ? 201 : 200).send({ accountId: b.accountId, created });
  });

  app.get<{ Params: AccountParams }>(
    '/accounts/:accountId',
    { schema: statusSchema },
    async (req): Promise<AccountStatusBody> => {
      const a = await account(req.params.accountId);
      const extra = registration(a);
      const fromStore = async (workflowRunning: boolean) => ({
        ...storedStatus(a, await deps.syncRuns.summary(a.accountId), workflowRunning),
        ...extra,
      });
      const running = await temporal(() => workflows.isRunning(a.accountId));
      if (!running) return fromStore(false);
      try {
        const status = await withTimeout(workflows.status(a.accountId), STATUS_QUERY_TIMEOUT_MS, timedOut);
        const progress = status.running
          ? progressOf(await deps.syncRuns.running(a.accountId), status.running)
          : undefined;
        return {
          ...status,
          ...(progress ? { progress } : {}),
          workflowRunning: true,
          source: 'workflow',
          ...extra,
        };
      } catch (err) {
        // No worker to answer the query, or the run just ended: what MongoDB knows is still useful.
        if (!(err instanceof TimeoutError) && !(err instanceof AccountNotFoundError)) {
          if (isTemporalUnreachable(err)) throw temporalUnavailable();
          throw err;
        }
        req.log.warn({ accountId: a.accountId }, 'status query not answered; serving stored state');
        return fromStore(err instanceof TimeoutError);
      }
    },
  );

  app.post<{ Params: AccountParams; Body: SyncBody; Querystring: { wait: boolean } }>(
    '/accounts/:accountId/sync',
    { schema: syncSchema },
    async (req, reply) => {
      const a = await account(req.params.accountId);
      if (a.deregisteredAt) throw accountClosed(a.accountId);
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
        result = await withTimeout(
          workflows.syncNow(a.accountId, mode),
          deps.syncWaitMs ?? DEFAULT_SYNC_WAIT_MS,
          timedOut,
        );
      } catch (err) {
        if (err instanceof TimeoutError)
          return reply.code(202).send({ accountId: a.accountId, mode, status: 'running' });
        throw syncFailure(err, notRunning);
      }
      return reply.code(200).send(result);
    },
  );

  app.put<{ Params: AccountParams; Body: TokensBody }>(
    '/accounts/:accountId/tokens',
    { schema: tokensSchema },
    async (req) => {
      const a = await account(req.params.accountId);
      if (a.deregisteredAt) throw accountClosed(a.accountId);
      const stored = await accounts.replaceTokens(a.accountId, req.body);
      if (!stored) throw accountClosed(a.accountId); // deregistered or purged since we looked
      await temporal(() => workflows.tokensUpdated(a.accountId));
      req.log.info({ accountId: a.accountId }, 'tokens replaced');
      return { accountId: a.accountId, updated: true };
    },
  );

  app.delete<{ Params: AccountParams; Querystring: { purge: boolean } }>(
    '/accounts/:accountId',
    { schema: deleteSchema },
    async (req, reply) => {
      const a = await account(req.params.accountId);
      const { purge } = req.query;
      if (a.deregisteredAt) {
        // The workflow is done with it (channel closed); only the purge is left, if asked.
        if (!purge) return reply.code(202).send({ accountId: a.accountId, purge, status: 'closed' });
        const removed = await purgeNow(a.accountId);
        req.log.info({ accountId: a.accountId, ...removed }, 'account purged');
        return reply.code(202).send({ accountId: a.accountId, purge, status: 'purged', removed });
      }
      // Recorded first, so that a registration from now until the workflow has finished is refused.
      await accounts.markDeregistering(a.accountId);
      // Signal-with-start: a registered account whose workflow is gone (terminated by an
      // operator, say) gets one that only closes the channel: deregistration is its first step.
      await temporal(() => workflows.deregister(a.accountId, purge));
      req.log.info({ accountId: a.accountId, purge }, 'deregistration requested');
      return reply.code(202).send({
        accountId: a.accountId,
        purge,
        status: 'deregistering',
        ...(purge ? { removes: PURGED } : {}),
      });
    },
  );
};

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
