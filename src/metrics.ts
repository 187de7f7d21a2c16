/**
 * Prometheus metrics. One registry per process, created by `createMetrics()` and injected into the
 * API and the activities (never a global), so tests get fresh counters.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Accounts per state, read from MongoDB's `accounts` collection when Prometheus scrapes. */
export type AccountCounts = () => Promise<Record<string, number>>;

/** Webhooks per state (`active`, `paused`), read from MongoDB's `webhooks` when Prometheus scrapes. */
export type WebhookCounts = () => Promise<Record<string, number>>;

/** How one webhook attempt ended (`cronofy_webhook_deliveries_total{outcome}`). */
export type WebhookAttemptOutcome = 'ok' | 'http_error' | 'timeout' | 'network' | 'cancelled';

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  // Set by the worker role (src/runtime.ts) once it has MongoDB; unset, the gauge has no samples.
  let accountCounts: AccountCounts | undefined;
  let webhookCounts: WebhookCounts | undefined;
  const m = {
    registry,
    /** Where `cronofy_accounts` reads from; `undefined` stops reading (the worker is closing). */
    setAccountCounts(source: AccountCounts | undefined): void {
      accountCounts = source;
    },
    /** Where `cronofy_webhooks` reads from; `undefined` stops reading (the worker is closing). */
    setWebhookCounts(source: WebhookCounts | undefined): void {
      webhookCounts = source;
    },
    // Accounts: counted on scrape (a few index-only counts), so the figure is never stale and no
    // timer runs. Every process serving it reports the same totals: aggregate with max, not sum.
    accounts: new Gauge({
      name: 'cronofy_accounts',
      help: 'Registered accounts by sync state (active, degraded, disconnected, closed), from MongoDB at scrape time; every worker reports the same totals',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        if (!accountCounts) return;
        try {
          const counts = await accountCounts();
          for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
        } catch {
          // MongoDB unreachable: no figure rather than a stale one (the scrape itself still succeeds).
          this.reset();
        }
      },
    }),
    // Receiver
    notifications: new Counter({
      name: 'cronofy_notifications_total',
      help: 'Notification requests by HTTP status and notification type',
      labelNames: ['status', 'type'] as const,
      registers: [registry],
    }),
    verificationFailures: new Counter({
      name: 'cronofy_notification_verification_failures_total',
      help: 'Notifications refused by HMAC verification, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    secretMatched: new Counter({
      name: 'cronofy_notification_secret_matched_total',
      help: 'Verified notifications by the index of the client secret that matched (0 = current); retire an old secret when its count stops growing',
      labelNames: ['secret_index'] as const,
      registers: [registry],
    }),
    signalLatency: new Histogram({
      name: 'cronofy_signal_with_start_seconds',
      help: 'Latency of signal-with-start of the account workflow from the receiver, by outcome (ok, error, timeout: the receiver gave up at SIGNAL_TIMEOUT and answered 503)',
      labelNames: ['outcome'] as const,
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers: [registry],
    }),
    // Worker
    syncs: new Counter({
      name: 'cronofy_syncs_total',
      help: 'Sync activity attempts by kind and outcome',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    syncDuration: new Histogram({
      name: 'cronofy_sync_duration_seconds',
      help: 'Duration of successful syncs by kind',
      labelNames: ['kind'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    eventsWritten: new Counter({
      name: 'cronofy_events_written_total',
      help: 'Event documents written to MongoDB, by operation (upserted, deleted)',
      labelNames: ['op'] as const,
      registers: [registry],
    }),
    cronofyCalls: new Counter({
      name: 'cronofy_api_calls_total',
      help: 'Cronofy API calls by method, path and status',
      labelNames: ['method', 'path', 'status'] as const,
      registers: [registry],
    }),
    rateLimitWait: new Histogram({
      name: 'cronofy_rate_limit_wait_seconds',
      help: 'Time Cronofy calls waited for the shared rate-limit budget, by priority',
      labelNames: ['priority'] as const,
      buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    budgetWorkers: new Gauge({
      name: 'cronofy_rate_limit_workers',
      help: 'Worker processes sharing the Cronofy budget (this one runs on 1/N of it), from the leases in `workers`',
      registers: [registry],
    }),
    reconciliations: new Counter({
      name: 'cronofy_reconciliations_total',
      help: 'Full-sync reconciliations of deletions by outcome (tombstoned, skipped, withheld, deferred) and reason; withheld = a mass deletion an operator must look at',
      labelNames: ['outcome', 'reason'] as const,
      registers: [registry],
    }),
    drift: new Counter({
      name: 'cronofy_full_sync_drift_total',
      help: 'Event documents a full sync inserted, changed or tombstoned that no incremental sync had written (kind): non-zero means notifications are being missed',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    freshness: new Histogram({
      name: 'cronofy_notification_freshness_seconds',
      help: 'From notification receipt to the MongoDB write of the sync serving it',
      buckets: [0.5, 1, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 60, 120],
      registers: [registry],
    }),
    feedAppended: new Counter({
      name: 'cronofy_feed_changes_appended_total',
      help: 'Entries appended to the change feed (one per changed event, and again when a write raced the flush)',
      registers: [registry],
    }),
    feedFlushDuration: new Histogram({
      name: 'cronofy_feed_flush_seconds',
      help: "One flush of an account's marked writes into the change feed, lease wait included",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    feedPruned: new Counter({
      name: 'cronofy_feed_changes_pruned_total',
      help: 'Change-feed entries removed by retention (kind: superseded, deletion)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    // Outbound webhooks (the webhook worker's delivery activity, src/activities/webhooks.ts).
    webhookDeliveries: new Counter({
      name: 'cronofy_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (ok: 2xx; http_error: any other status; timeout: WEBHOOK_TIMEOUT; network: connection refused, DNS, reset; cancelled: the activity was cancelled) and message type',
      labelNames: ['outcome', 'type'] as const,
      registers: [registry],
    }),
    webhookDeliveryDuration: new Histogram({
      name: 'cronofy_webhook_delivery_seconds',
      help: 'Duration of one webhook delivery attempt (the HTTP request, to its answer or failure), by outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    webhookChangesDelivered: new Counter({
      name: 'cronofy_webhook_changes_delivered_total',
      help: 'Change-feed changes acknowledged by webhook receivers (each events.changed message carries up to WEBHOOK_MAX_CHANGES); a replay delivers them again',
      registers: [registry],
    }),
    webhookLag: new Histogram({
      name: 'cronofy_webhook_lag_seconds',
      help: "From a change's changedAt (its write to the change feed) to the receiver's acknowledgement of the message carrying it, one sample per change",
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400],
      registers: [registry],
    }),
    // Webhooks: counted on scrape, like cronofy_accounts; every worker reports the same totals.
    webhooks: new Gauge({
      name: 'cronofy_webhooks',
      help: 'Registered webhooks by state (active, paused), from MongoDB at scrape time; every worker reports the same totals',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        if (!webhookCounts) return;
        try {
          const counts = await webhookCounts();
          for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
        } catch {
          this.reset();
        }
      },
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
