/**
 * The API wired in one place: from a config, a MongoDB database and a Temporal client to the
 * Fastify app with its repositories, workflow gateway and Cronofy client factory. `startApi`
 * (../runtime.ts) uses it for `npm start` and local mode, and the integration tests use it for an
 * app with a config of their own; unit tests build `buildServer` with fakes instead (test/api/).
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Db } from 'mongodb';
import type { Config, EncryptionKey } from '../config.js';
import { cronofyClientFactory, cronofySettings } from '../cronofy/client-factory.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { AccountsRepo } from '../store/accounts-repo.js';
import { CalendarsRepo } from '../store/calendars-repo.js';
import { ChangeFeed } from '../store/change-feed.js';
import { collections } from '../store/db.js';
import { EventsReader } from '../store/events-query.js';
import { EventsRepo } from '../store/events-repo.js';
import { OAuthNoncesRepo } from '../store/oauth-nonces-repo.js';
import { SyncRunsRepo } from '../store/sync-runs-repo.js';
import { TokenCrypto } from '../store/token-crypto.js';
import { WebhookCursorsRepo } from '../store/webhook-cursors-repo.js';
import { WebhookDeliveriesRepo } from '../store/webhook-deliveries-repo.js';
import { WebhooksRepo } from '../store/webhooks-repo.js';
import { AccountWorkflows } from '../temporal/account-workflows.js';
import { WebhookWorkflows } from '../temporal/webhook-workflows.js';
import { buildServer } from './server.js';

export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  logger: Logger;
  metrics: Metrics;
  /** The token encryption keys, current first (local mode may use a development key). */
  tokenKeys: EncryptionKey[];
  /** Custom search attributes are registered on the server (false only for bare test servers). */
  searchAttributes?: boolean;
  /** Tests: a shorter limit on Temporal calls than the default 10 s. */
  temporalTimeoutMs?: number;
  /**
   * Whether MongoDB has answered and its indexes exist (`startApi` connects in the background);
   * absent = it has (the caller connected first).
   */
  storeReady?: () => boolean;
}

export interface App {
  app: FastifyInstance;
  workflows: AccountWorkflows;
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, db, temporal } = deps;
  const workflows = new AccountWorkflows({
    client: temporal,
    taskQueue: config.temporal.taskQueue,
    timings: config.timings,
    publicUrl: config.http.publicUrl,
    searchAttributes: deps.searchAttributes,
  });
  const c = collections(db);
  const crypto = new TokenCrypto(deps.tokenKeys);
  const accounts = new AccountsRepo(c.accounts, crypto);
  const feed = new ChangeFeed(c);
  const app = await buildServer({
    config,
    metrics: deps.metrics,
    workflows,
    logger: deps.logger,
    readiness: {
      temporal: async () => {
        await temporal.withDeadline(Date.now() + 1000, () =>
          temporal.connection.workflowService.getSystemInfo({}),
        );
        return true;
      },
      mongo: async () => {
        if (deps.storeReady && !deps.storeReady()) return false;
        await db.command({ ping: 1 });
        return true;
      },
    },
    storeReady: deps.storeReady,
    admin: {
      config,
      workflows,
      accounts,
      events: new EventsRepo(c.events, feed),
      eventsReader: new EventsReader(c.events),
      changes: feed,
      calendars: new CalendarsRepo(c.calendars),
      syncRuns: new SyncRunsRepo(c.syncRuns),
      oauthNonces: new OAuthNoncesRepo(c.oauthNonces),
      cronofy: cronofyClientFactory(cronofySettings(config)),
      temporalTimeoutMs: deps.temporalTimeoutMs,
      webhookApi: {
        webhooks: new WebhooksRepo(c.webhooks, crypto),
        cursors: new WebhookCursorsRepo(c.webhookCursors),
        deliveries: new WebhookDeliveriesRepo(c.webhookDeliveries),
        workflows: new WebhookWorkflows({
          client: temporal,
          taskQueue: config.temporal.taskQueue,
          settings: config.webhooks,
          searchAttributes: deps.searchAttributes,
        }),
        liveAccountIds: () => accounts.liveIds(),
      },
    },
  });
  return { app, workflows };
}
