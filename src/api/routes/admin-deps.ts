/**
 * What the admin and read API routes are given, and the few calls they share. Routes reach
 * Temporal only through the `AccountWorkflows` gateway, MongoDB only through the repositories, and
 * Cronofy only through the injected client factory: each is typed as the part a route uses, so
 * tests pass fakes (test/api/) and production passes the real ones (`buildApp`, ../app.ts).
 */
import type { Config } from '../../config.js';
import type { CronofyClient } from '../../cronofy/client.js';
import type { DataCenter } from '../../cronofy/types.js';
import { TimeoutError, withTimeout } from '../../lib/timeout.js';
import type { AccountInfo, AccountsRepo } from '../../store/accounts-repo.js';
import type { CalendarsRepo } from '../../store/calendars-repo.js';
import type { ChangeFeed } from '../../store/change-feed.js';
import type { EventsReader } from '../../store/events-query.js';
import type { EventsRepo } from '../../store/events-repo.js';
import type { OAuthNoncesRepo } from '../../store/oauth-nonces-repo.js';
import type { SyncRunsRepo } from '../../store/sync-runs-repo.js';
import type { AccountWorkflows } from '../../temporal/account-workflows.js';
import { ApiError, isTemporalUnreachable, notFound, temporalUnavailable } from '../api-error.js';
import type { WebhookApiDeps } from './webhooks.js';

export interface AdminDeps {
  config: Config;
  workflows: Pick<
    AccountWorkflows,
    'start' | 'status' | 'isRunning' | 'requestSync' | 'syncNow' | 'tokensUpdated' | 'deregister'
  >;
  accounts: Pick<
    AccountsRepo,
    'get' | 'register' | 'replaceTokens' | 'delete' | 'tokens' | 'markDeregistering' | 'list'
  >;
  events: Pick<EventsRepo, 'deleteAccount'>;
  eventsReader: Pick<EventsReader, 'list'>;
  changes: Pick<ChangeFeed, 'read'>;
  calendars: Pick<CalendarsRepo, 'list' | 'deleteAccount'>;
  syncRuns: Pick<SyncRunsRepo, 'summary' | 'deleteAccount' | 'running'>;
  /**
   * For the OAuth code exchange and a purge's revocation: `cronofyClientFactory`
   * (../../cronofy/client-factory.ts).
   */
  cronofy: (
    dataCenter: DataCenter,
  ) => Pick<CronofyClient, 'exchangeCode' | 'revokeToken' | 'userInfo' | 'refreshToken' | 'closeChannel'>;
  /** Used OAuth state nonces: each state reaches the callback once. */
  oauthNonces: Pick<OAuthNoncesRepo, 'use'>;
  /** The webhook routes' collaborators; without them the webhook routes are not served. */
  webhookApi?: WebhookApiDeps;
  /** How long `POST /accounts/:id/sync?wait=true` waits before answering 202 "running". */
  syncWaitMs?: number;
  /** A Temporal call taking longer than this answers 503 (the status query falls back to MongoDB). */
  temporalTimeoutMs?: number;
  now?: () => number;
}

const DEFAULT_TEMPORAL_TIMEOUT_MS = 10_000;

/** The calls every admin route plugin makes the same way. */
export interface AdminCalls {
  /** A Temporal call: unreachable or too slow is 503, the caller may retry. */
  temporal<T>(fn: () => Promise<T>): Promise<T>;
  /** The registered account, or 404. */
  account(accountId: string): Promise<AccountInfo>;
  /** Starts the workflow of a (re)registered account, or wakes the running one for its new tokens. */
  startOrWake(accountId: string, fresh: boolean): Promise<void>;
}

export function adminCalls(deps: AdminDeps): AdminCalls {
  const timeoutMs = deps.temporalTimeoutMs ?? DEFAULT_TEMPORAL_TIMEOUT_MS;
  const temporal = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await withTimeout(fn(), timeoutMs, () => {
        throw new TimeoutError();
      });
    } catch (err) {
      if (err instanceof TimeoutError || isTemporalUnreachable(err)) throw temporalUnavailable();
      throw err;
    }
  };
  return {
    temporal,
    async account(accountId) {
      const a = await deps.accounts.get(accountId);
      if (!a) throw notFound(accountId);
      return a;
    },
    async startOrWake(accountId, fresh) {
      if (fresh && (await temporal(() => deps.workflows.start(accountId))).started) return;
      await temporal(() => deps.workflows.tokensUpdated(accountId));
    },
  };
}

/** A registration refused because the account's deregistration has not finished yet. */
export const deregistrationInProgress = (accountId: string): ApiError =>
  new ApiError(
    409,
    'deregistration_in_progress',
    `account ${accountId} is being deregistered; register it again once that has finished (GET /accounts/${accountId} shows state "closed")`,
  );

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
