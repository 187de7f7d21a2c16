/**
 * Wires real dependencies for the two roles: the API (receiver + admin) and the worker.
 * `main.ts` picks the roles; tests and `npm run dev` call these directly with their own config.
 *
 * Longer than ~300 lines because it wires both processes (API and worker) and their shutdown in one
 * place, so what a process holds open is visible together.
 */
import http from 'node:http';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { type Db, MongoClient } from 'mongodb';
import { createActivities } from './activities/index.js';
import { webhookActivities } from './activities/webhooks.js';
import { buildApp } from './api/app.js';
import { buildInternalServer } from './api/server.js';
import { WorkerLeases } from './budget/leases.js';
import { RateLimiter } from './budget/rate-limiter.js';
import { startBudgetShare } from './budget/shares.js';
import { type Config, DEVELOPMENT_ENCRYPTION_KEY, type EncryptionKey } from './config.js';
import { cronofySettings } from './cronofy/client-factory.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { AccountUpdatesRepo } from './store/account-updates-repo.js';
import { AccountsRepo } from './store/accounts-repo.js';
import { CalendarsRepo } from './store/calendars-repo.js';
import { ChangeFeed } from './store/change-feed.js';
import { collections, ensureIndexes, markEventsWithoutFeedEntry, pruneSyncRuns } from './store/db.js';
import { EventsRepo } from './store/events-repo.js';
import { startRetention } from './store/retention.js';
import { SyncRunsRepo } from './store/sync-runs-repo.js';
import { TokenCrypto } from './store/token-crypto.js';
import { WebhookCursorsRepo } from './store/webhook-cursors-repo.js';
import { WebhookDeliveriesRepo } from './store/webhook-deliveries-repo.js';
import { WebhooksRepo } from './store/webhooks-repo.js';
import type { AccountWorkflows } from './temporal/account-workflows.js';
import { lazyClosableConnection } from './temporal/connection.js';
import { connectionOptions } from './temporal/env-config.js';
import { WebhookWaker, WebhookWorkflows } from './temporal/webhook-workflows.js';
import { AccountLog } from './webhooks/account-log.js';
import type { FeedReader } from './webhooks/feed.js';
import { bundleWorkflows, createWorker, prebuiltWorkflowBundle, type WorkflowBundle } from './worker.js';
import { webhookTaskQueue } from './workflows/webhook-messages.js';

export interface Closeable {
  close(): Promise<void>;
}

/**
 * Local mode without a key: a fixed, loudly insecure key so `npm run dev` restarts can still
 * decrypt (loadConfig refuses it outside local mode).
 */
function encryptionKeys(config: Config, log: Logger): EncryptionKey[] {
  if (config.tokenEncryptionKeys.length > 0) return config.tokenEncryptionKeys;
  log.warn('TOKEN_ENCRYPTION_KEY not set (local mode): using an insecure development key');
  return [DEVELOPMENT_ENCRYPTION_KEY];
}

export async function connectMongo(config: Config): Promise<{ client: MongoClient; db: Db; ttl: boolean }> {
  const client = new MongoClient(config.mongo.uri, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  const db = client.db(config.mongo.db);
  const { ttl } = await ensureIndexes(db);
  return { client, db, ttl };
}

/** How long the API waits between attempts to reach MongoDB while it has not answered yet. */
const MONGO_RETRY_MS = 1_000;

export interface BackgroundMongo extends Closeable {
  client: MongoClient;
  db: Db;
  /** MongoDB has answered and the indexes exist. */
  ready(): boolean;
  /** Resolves once `ready()` (never rejects; pending forever if closed first). */
  whenReady: Promise<void>;
}

/**
 * MongoDB for the API role, connected in the background: the receiver needs only Temporal, so a
 * MongoDB outage at start must not keep the process from serving pushes. Until MongoDB answers
 * (and the indexes are created) `ready()` is false and the admin API answers 503; this keeps trying
 * every second, so nothing needs restarting when it comes back. Once connected, the driver rides
 * out later outages by itself (the admin API answers 503 meanwhile: error-handler.ts).
 */
export function backgroundMongo(config: Config, log: Logger): BackgroundMongo {
  const client = new MongoClient(config.mongo.uri, { serverSelectionTimeoutMS: 5000 });
  const db = client.db(config.mongo.db);
  let ready = false;
  let closed = false;
  let wake: (() => void) | undefined;
  let markReady: () => void = () => undefined;
  const whenReady = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const loop = (async () => {
    for (let attempt = 1; !closed; attempt++) {
      try {
        // Explicitly: a failed first connect leaves the client's topology closed, and operations
        // would not reconnect by themselves; `connect()` makes a new one.
        await client.connect();
        await ensureIndexes(db);
        ready = true;
        markReady();
        if (attempt > 1) log.info('MongoDB answered: the admin API is available');
        return;
      } catch (err) {
        if (closed) return;
        if (attempt === 1) log.warn({ err }, 'MongoDB unreachable: admin API answers 503 until it answers');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, MONGO_RETRY_MS).unref();
        });
      }
    }
  })();
  return {
    client,
    db,
    ready: () => ready,
    whenReady,
    async close() {
      closed = true;
      wake?.();
      await client.close().catch(() => undefined);
      await loop;
    },
  };
}

export interface ApiRuntime extends Closeable {
  app: FastifyInstance;
  /** The internal listener's app (`/metrics`, `/docs`), when `INTERNAL_PORT` is set. */
  internal: FastifyInstance | undefined;
  internalUrl: string | undefined;
  /** Resolves once MongoDB has answered and the admin API serves. */
  mongoReady: Promise<void>;
  workflows: AccountWorkflows;
  metrics: Metrics;
  url: string;
}

export async function startApi(
  config: Config,
  opts: { logger?: Logger; listen?: boolean; searchAttributes?: boolean; metrics?: Metrics } = {},
): Promise<ApiRuntime> {
  const log = opts.logger ?? createLogger(config.logLevel);
  // Background: the receiver starts and serves while MongoDB is down (admin API: 503 until it answers).
  const mongo = backgroundMongo(config, log);
  // Lazy: the API starts (and answers 503) while Temporal is down, and reconnects by itself.
  const temporal = lazyClosableConnection(connectionOptions(config.temporal.connection));
  const { connection } = temporal;
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const metrics = opts.metrics ?? createMetrics({ defaultMetrics: true });
  const { app, workflows } = await buildApp({
    config,
    db: mongo.db,
    temporal: client,
    logger: log,
    metrics,
    tokenKeys: encryptionKeys(config, log),
    searchAttributes: opts.searchAttributes,
    storeReady: mongo.ready,
  });
  let url = '';
  let internal: FastifyInstance | undefined;
  let internalUrl: string | undefined;
  try {
    if (opts.listen !== false) url = await app.listen({ host: config.http.host, port: config.http.port });
    if (config.http.internalPort !== undefined) {
      await app.ready();
      internal = await buildInternalServer({ metrics, logger: log, openapi: app.swagger() as never });
      if (opts.listen !== false) {
        internalUrl = await internal.listen({
          host: config.http.internalHost,
          port: config.http.internalPort,
        });
      }
    }
  } catch (err) {
    await app.close();
    await internal?.close();
    await temporal.close().catch(() => undefined);
    await mongo.close();
    throw err;
  }
  return {
    app,
    internal,
    internalUrl,
    workflows,
    metrics,
    url,
    mongoReady: mongo.whenReady,
    async close() {
      // Stop accepting, finish in-flight requests, then drop connections.
      await app.close();
      await internal?.close();
      await temporal.close().catch(() => undefined);
      await mongo.close();
    },
  };
}

export interface WorkerRuntime extends Closeable {
  worker: Worker;
  /** The webhook delivery worker (`<task queue>-webhooks`), in the same process. */
  webhookWorker: Worker;
  /** Wakes the webhook deliveries of an account: what the change feed's `onAppended` calls. */
  webhookWaker: WebhookWaker;
  metrics: Metrics;
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
}

/** Budget-share leases: renewed every 10 s, counted as live for 30 s (three missed renewals). */
const BUDGET_RENEW_MS = 10_000;
const BUDGET_LEASE_TTL_MS = 30_000;

let runtimeInstalled = false;

/**
 * The Temporal SDK's process-wide runtime: its log lines (workflow `log`, activity `log`, worker
 * state) go to our pino logger, and its own metrics to a Prometheus endpoint when
 * TEMPORAL_METRICS_PORT is set. Installable once per process; the first worker decides.
 */
function installTemporalRuntime(log: Logger, port: number | undefined): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdkLog = log.child({ component: 'temporal' });
  const levels = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
  // Tests (and embedders) may have installed their own runtime already; keep theirs.
  if (Runtime._instance) return;
  Runtime.install({
    logger: new DefaultLogger(
      log.levelVal <= 20 ? 'DEBUG' : log.levelVal <= 30 ? 'INFO' : 'WARN',
      (entry) => {
        sdkLog[levels[entry.level]]({ ...entry.meta }, entry.message);
      },
    ),
    ...(port ? { telemetryOptions: { metrics: { prometheus: sdkPrometheusOptions(port) } } } : {}),
  });
}

/**
 * The SDK's Prometheus exporter in Prometheus's own conventions, like our metrics: durations in
 * seconds with the unit in the name (`temporal_workflow_task_schedule_to_start_latency_seconds`),
 * counters ending in `_total` (`temporal_request_failure_total`). The SDK's defaults are
 * milliseconds under unit-less names, which read 1000× off next to every other `_seconds` histogram.
 */
export function sdkPrometheusOptions(port: number) {
  return {
    bindAddress: `0.0.0.0:${port}`,
    useSecondsForDurations: true,
    unitSuffix: true,
    countersTotalSuffix: true,
  };
}

export async function startWorker(
  config: Config,
  opts: {
    logger?: Logger;
    metrics?: Metrics;
    workflowBundle?: WorkflowBundle;
    fetch?: typeof fetch;
    /** Tests: the feed webhooks deliver from instead of the service's change feed. */
    changeFeed?: FeedReader;
    /** The webhook deliveries' HTTP (tests); default global fetch. */
    webhookFetch?: typeof fetch;
  } = {},
): Promise<WorkerRuntime> {
  const log = opts.logger ?? createLogger(config.logLevel);
  installTemporalRuntime(log, config.temporal.metricsPort);
  const mongo = await connectMongo(config);
  const connection = await NativeConnection.connect(connectionOptions(config.temporal.connection));
  const metrics = opts.metrics ?? createMetrics();
  const c = collections(mongo.db);
  const crypto = new TokenCrypto(encryptionKeys(config, log));
  const accounts = new AccountsRepo(c.accounts, crypto);
  const syncRuns = new SyncRunsRepo(c.syncRuns);
  // Webhooks: the worker wakes deliveries when an account changes (feed appends, state changes).
  const webhooks = new WebhooksRepo(c.webhooks, crypto);
  const webhookDeliveries = new WebhookDeliveriesRepo(c.webhookDeliveries);
  const accountUpdates = new AccountUpdatesRepo(c.accountUpdates);
  const webhookWaker = new WebhookWaker({
    webhooks,
    workflows: new WebhookWorkflows({
      client: new Client({ connection, namespace: config.temporal.namespace }),
      taskQueue: config.temporal.taskQueue,
      settings: config.webhooks,
    }),
    onError: (err) => log.warn({ err }, 'waking webhook deliveries failed; tried again shortly'),
  });
  const accountLog = new AccountLog({
    updates: accountUpdates,
    lastFailure: async (accountId) => (await syncRuns.summary(accountId)).lastFailure?.message ?? null,
    wake: (accountId) => webhookWaker.accountChanged(accountId),
    onWakeError: (err) => log.warn({ err }, 'waking webhook deliveries failed; tried again shortly'),
  });
  // The change feed wakes the deliveries of the account's webhooks after each append.
  const feed = new ChangeFeed(c, {
    metrics,
    onAppended: async (accountId) => {
      // A failed wake-up is tried again by the waker until it works (Temporal or MongoDB away).
      await webhookWaker.accountChanged(accountId).catch((err: unknown) => {
        log.warn({ err, accountId }, 'waking webhook deliveries failed; tried again shortly');
      });
    },
  });
  const unfed = await markEventsWithoutFeedEntry(mongo.db);
  if (unfed > 0)
    log.info(
      { events: unfed },
      "events stored before the change feed: each enters it at its account's next sync",
    );
  const limiter = new RateLimiter({
    perSecond: config.cronofy.rateLimitPerSecond,
    perMinute: config.cronofy.rateLimitPerMinute,
  });
  // Every worker of the task queue runs on its share of the one Cronofy budget.
  const budget = await startBudgetShare({
    leases: WorkerLeases.forDb(mongo.db, config.temporal.taskQueue, BUDGET_LEASE_TTL_MS),
    limiter,
    intervalMs: BUDGET_RENEW_MS,
    log,
    metrics,
  });
  const activities = createActivities({
    settings: {
      timings: config.timings,
      publicUrl: config.http.publicUrlConfigured ? config.http.publicUrl : undefined,
    },
    accounts,
    events: new EventsRepo(c.events, feed),
    calendars: new CalendarsRepo(c.calendars),
    syncRuns,
    cronofy: cronofySettings(config),
    limiter,
    metrics,
    fetch: opts.fetch,
    accountLog,
  });
  // One outbound limiter per webhook endpoint, in this process (several worker processes each
  // allow WEBHOOK_RATE_LIMIT: docs/webhooks.md).
  const webhookLimiters = new Map<string, RateLimiter>();
  const perSecond = config.webhooks.rateLimitPerSecond;
  const webhookActs = webhookActivities({
    webhooks,
    cursors: new WebhookCursorsRepo(c.webhookCursors),
    deliveries: webhookDeliveries,
    updates: accountUpdates,
    feed: opts.changeFeed ?? feed,
    settings: config.webhooks,
    limiterFor: (id) => {
      let l = webhookLimiters.get(id);
      if (!l) {
        l = new RateLimiter({ perSecond, perMinute: perSecond * 60, reserveFraction: 0 });
        webhookLimiters.set(id, l);
      }
      return l;
    },
    fetch: opts.webhookFetch,
    metrics,
  });
  // The compiled service loads the bundle `npm run build` wrote; from the sources it bundles now.
  let workflowBundle = opts.workflowBundle ?? prebuiltWorkflowBundle();
  if (workflowBundle && 'codePath' in workflowBundle)
    log.info({ codePath: workflowBundle.codePath }, 'using the prebuilt workflow bundle');
  else if (!workflowBundle) {
    log.info('bundling the workflow code (no prebuilt bundle: running from source)');
    // Once, for both workers.
    workflowBundle = await bundleWorkflows();
  }
  // `cronofy_accounts` on this process's metrics, counted from `accounts` at each scrape.
  metrics.setAccountCounts(() => accounts.countByState());
  // `cronofy_webhooks`, likewise counted from `webhooks` at each scrape.
  metrics.setWebhookCounts(() => webhooks.countByState());
  // A worker that fails to start gives its budget share back at once.
  const worker = await createWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    workflowBundle,
    maxTaskQueueActivitiesPerSecond: config.cronofy.rateLimitPerSecond,
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    maxConcurrentActivities: config.worker.maxConcurrentActivities,
  }).catch(async (err: unknown) => {
    metrics.setAccountCounts(undefined);
    metrics.setWebhookCounts(undefined);
    await budget.stop();
    throw err;
  });
  // Webhook deliveries on a task queue of their own: a slow receiver holds only these slots.
  let webhookWorker: Worker;
  try {
    webhookWorker = await createWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: webhookTaskQueue(config.temporal.taskQueue),
      activities: webhookActs,
      workflowBundle,
      maxCachedWorkflows: config.worker.maxCachedWorkflows,
    });
  } catch (err) {
    metrics.setAccountCounts(undefined);
    metrics.setWebhookCounts(undefined);
    await budget.stop();
    throw err;
  }
  // Without TTL indexes (FerretDB) the worker expires old sync_runs itself; webhook attempts
  // are always pruned here (by age and by count per webhook). Hourly.
  const prune = async () => {
    if (!mongo.ttl) await pruneSyncRuns(mongo.db, new Date());
    await webhookDeliveries.prune(
      new Date(),
      (await webhooks.list()).map((w) => w._id),
    );
  };
  const pruner = setInterval(() => void prune().catch(() => undefined), 3_600_000);
  pruner.unref();
  const runBoth = async () => {
    const runs = [worker.run(), webhookWorker.run()];
    // One stopping (shutdown or a fatal error) stops the other; the first error is rethrown.
    const stopOther = () => {
      for (const w of [worker, webhookWorker]) if (w.getState() === 'RUNNING') w.shutdown();
    };
    const settled = await Promise.allSettled(runs.map((r) => r.finally(stopOther)));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  const feedRetention = startRetention(
    [(cutoff) => feed.pruneAll(cutoff), (cutoff) => accountUpdates.prune(cutoff)],
    config.feedRetentionMs,
    log,
  );
  const done = runBoth().finally(async () => {
    clearInterval(pruner);
    webhookWaker.close();
    await feedRetention.stop();
    metrics.setAccountCounts(undefined);
    metrics.setWebhookCounts(undefined);
    await budget.stop();
    await connection.close().catch(() => undefined);
    await mongo.client.close().catch(() => undefined);
  });
  return {
    worker,
    webhookWorker,
    webhookWaker,
    metrics,
    done,
    async close() {
      for (const w of [worker, webhookWorker]) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}

/**
 * Serves a metrics registry on a port of its own: the worker role has no HTTP server, and its
 * metrics (syncs, Cronofy calls, freshness) live in its process. `GET /metrics`, `GET /healthz`.
 */
export async function serveMetrics(
  metrics: Metrics,
  port: number,
  host = '0.0.0.0',
): Promise<Closeable & { url: string }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
