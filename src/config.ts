/**
 * Environment → typed, validated configuration. The only module that reads `process.env`.
 * Invalid configuration throws a ConfigError naming the variable; `main.ts` prints it and exits.
 *
 * Longer than ~300 lines because it is the one reader of process.env: every variable, its default and
 * its validation in one place.
 */
import { createHash } from 'node:crypto';
import { DATA_CENTERS, type DataCenter } from './cronofy/types.js';
import { apiBaseUrl } from './cronofy/urls.js';
import type { SyncTimings } from './domain.js';
import { parseDuration } from './lib/duration.js';
import { DAY_MS } from './lib/time.js';
import {
  type TemporalConnectionConfig,
  TemporalEnvError,
  temporalConnectionFromEnv,
} from './temporal/env-config.js';

export type { SyncTimings } from './domain.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export interface EncryptionKey {
  /** Short stable id stored next to each ciphertext, so old keys can decrypt during rotation. */
  id: string;
  key: Buffer;
}

export interface Config {
  /** `LOCAL_MODE=1` (set by `npm run dev`): credentials and keys may be generated. */
  localMode: boolean;
  logLevel: string;
  cronofy: {
    clientId: string;
    /** First = current; the rest are still accepted on incoming notifications during rotation. */
    clientSecrets: string[];
    dataCenter: DataCenter;
    /** Explicit override (simulator, proxies); otherwise derived per account from its data center. */
    apiUrlOverride: string | undefined;
    requestTimeoutMs: number;
    /** The application's shared budget (Cronofy default: 50/s, 500/min). */
    rateLimitPerSecond: number;
    rateLimitPerMinute: number;
  };
  http: {
    host: string;
    port: number;
    /**
     * Where `/metrics` and `/docs` are served instead of the public port, if set: a listener for
     * Prometheus and operators that the load balancer does not expose.
     */
    internalPort: number | undefined;
    internalHost: string;
    publicUrl: string;
    /** PUBLIC_URL was set (or local mode): workers may hand it to running workflows. */
    publicUrlConfigured: boolean;
    maxBodyBytes: number;
    signalTimeoutMs: number;
  };
  adminToken: string | undefined;
  tokenEncryptionKeys: EncryptionKey[];
  /** Where the worker role serves cronofy-sync's own metrics when it runs without the API, if set. */
  metricsPort: number | undefined;
  /**
   * `connection`: address, namespace, TLS/mTLS, API key from the SDK's environment configuration
   * (src/temporal/env-config.ts); `address`/`namespace` repeat its two. `metricsPort`: where the
   * Temporal SDK's own Prometheus metrics are served (worker), if set.
   */
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    metricsPort: number | undefined;
    connection: TemporalConnectionConfig;
  };
  /**
   * Worker sizing; undefined = the Temporal SDK's default. `maxCachedWorkflows` bounds the
   * worker's memory (each cached account workflow holds ~0.4 MiB; an evicted one replays its short
   * history on its next task); `maxConcurrentActivities` bounds the syncs in flight, i.e. the
   * concurrent writes to MongoDB and calls to Cronofy from one worker.
   */
  worker: { maxCachedWorkflows: number | undefined; maxConcurrentActivities: number | undefined };
  mongo: { uri: string; db: string };
  timings: SyncTimings;
  /**
   * The change feed's retention (`FEED_RETENTION`): superseded versions and deletions older than
   * this are pruned, with the tombstones; a consumer further behind starts again (HTTP 410).
   */
  feedRetentionMs: number;
  webhooks: WebhookSettings;
}

/**
 * Outbound webhooks (docs/webhooks.md). Handed to each delivery workflow at its start (retry
 * settings) and used by the worker's delivery activity (timeout, batch size, rate limit).
 */
export interface WebhookSettings {
  /** How long a failing message is retried before the webhook is paused (`WEBHOOK_RETRY_WINDOW`). */
  retryWindowMs: number;
  /** The first retry's delay; doubled on each retry up to `retryMaxIntervalMs`. */
  retryInitialIntervalMs: number;
  retryMaxIntervalMs: number;
  /** One HTTP attempt's bound (`WEBHOOK_TIMEOUT`). */
  requestTimeoutMs: number;
  /** Changes per `events.changed` message (`WEBHOOK_MAX_CHANGES`). */
  maxChanges: number;
  /** Requests per second to one webhook's endpoint, per worker process (`WEBHOOK_RATE_LIMIT`). */
  rateLimitPerSecond: number;
}

/**
 * 30 days: far beyond the webhook retry window (24 h) and a consumer's long-weekend outage, four
 * weekly full syncs; what it keeps is only superseded versions and deletions (live events' latest
 * entries are kept whatever their age).
 */
export const DEFAULT_FEED_RETENTION_MS = 30 * DAY_MS;

type Env = Record<string, string | undefined>;

/** Which process reads the config: `PUBLIC_URL` is required where the API runs. */
export type Role = 'all' | 'api' | 'worker';

/** The minimum length of `ADMIN_TOKEN` outside local mode: 32 characters, so it cannot be guessed. */
export const ADMIN_TOKEN_MIN_LENGTH = 32;

/**
 * Local mode's encryption key when `TOKEN_ENCRYPTION_KEY` is absent: fixed (derived from a string
 * in this file) so that `npm run dev` restarts can still decrypt. Public knowledge, hence refused
 * outside local mode.
 */
export const DEVELOPMENT_ENCRYPTION_KEY: EncryptionKey = (() => {
  const key = createHash('sha256').update('cronofy-sync local development key').digest();
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
})();

/** Loopback hosts: a callback URL on one of them is unreachable for Cronofy. */
function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    h === 'localhost' ||
    h.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(h) ||
    h === '::1' ||
    h === '0.0.0.0' ||
    h === '::' ||
    h.startsWith('::ffff:127.')
  );
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  retryWindowMs: DAY_MS,
  retryInitialIntervalMs: 5_000,
  // Capped like the sync's retries: a day-long outage costs a few dozen attempts per account.
  retryMaxIntervalMs: 3_600_000,
  requestTimeoutMs: 10_000,
  maxChanges: 100,
  rateLimitPerSecond: 20,
};

export const DEFAULT_TIMINGS: SyncTimings = {
  debounceQuietMs: 2_000,
  debounceMaxMs: 15_000,
  fullSyncIntervalMs: 7 * DAY_MS,
  windowEdgeIntervalMs: 7 * DAY_MS,
  channelCheckIntervalMs: DAY_MS,
  syncRetryWindowMs: DAY_MS,
};

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function duration(env: Env, name: string, fallback: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0) {
    throw new ConfigError(
      name,
      `expected a positive duration such as 500ms, 2s, 15m, 12h or 7d; got "${raw}"`,
    );
  }
  return ms;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `expected an integer from ${min} to ${max}; got "${raw}"`);
  }
  return n;
}

function url(env: Env, name: string, fallback: string | undefined): string | undefined {
  const raw = str(env, name) ?? fallback;
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `expected an absolute http(s) URL; got "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(name, `expected an http(s) URL; got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

/**
 * `PUBLIC_URL`, where Cronofy calls us. Outside local mode it is required where the API runs (a
 * default would create channels pointing at loopback, which Cronofy closes, and they would be
 * recreated the same way), and must be an https URL on a host other than loopback; a worker may run
 * without it (it then leaves callback URLs alone). Local mode defaults it to the loopback port.
 */
function publicUrlOf(env: Env, localMode: boolean, role: Role, port: number): string | undefined {
  const raw = url(env, 'PUBLIC_URL', localMode ? `http://127.0.0.1:${port}` : undefined);
  if (localMode) return raw;
  if (raw === undefined) {
    if (role === 'worker') return undefined;
    throw new ConfigError('PUBLIC_URL', 'is required: the https URL Cronofy calls (or set LOCAL_MODE=1)');
  }
  const parsed = new URL(raw);
  if (parsed.protocol !== 'https:') {
    throw new ConfigError('PUBLIC_URL', `must be an https URL outside local mode; got "${raw}"`);
  }
  if (isLoopback(parsed.hostname)) {
    throw new ConfigError(
      'PUBLIC_URL',
      `must be reachable by Cronofy, not loopback (allowed only with LOCAL_MODE=1); got "${raw}"`,
    );
  }
  return raw;
}

/** Accepts 32 bytes as base64 (44 chars) or hex (64 chars); a comma-separated list for rotation. */
export function parseEncryptionKeys(raw: string, name = 'TOKEN_ENCRYPTION_KEY'): EncryptionKey[] {
  return raw.split(',').map((part) => {
    const text = part.trim();
    let key: Buffer | undefined;
    if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
    else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) key = Buffer.from(text, 'base64');
    if (key?.length !== 32) {
      throw new ConfigError(
        name,
        'expected a 32-byte key as base64 or hex (comma-separated during rotation)',
      );
    }
    return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
  });
}

export function loadConfig(env: Env = process.env, role: Role = 'all'): Config {
  const localMode = ['1', 'true', 'yes'].includes((str(env, 'LOCAL_MODE') ?? '').toLowerCase());
  const required = (name: string): string => {
    const v = str(env, name);
    if (v === undefined && !localMode) throw new ConfigError(name, 'is required (or set LOCAL_MODE=1)');
    return v ?? '';
  };

  const dataCenter = (str(env, 'CRONOFY_DATA_CENTER') ?? 'us') as DataCenter;
  if (!DATA_CENTERS.includes(dataCenter)) {
    throw new ConfigError(
      'CRONOFY_DATA_CENTER',
      `expected one of ${DATA_CENTERS.join(', ')}; got "${dataCenter}"`,
    );
  }
  const clientId = required('CRONOFY_CLIENT_ID');
  const clientSecrets = required('CRONOFY_CLIENT_SECRET')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (clientSecrets.length === 0 && !localMode) {
    throw new ConfigError('CRONOFY_CLIENT_SECRET', 'is required (comma-separated during rotation)');
  }

  const port = integer(env, 'PORT', 3000, 0, 65535);
  // Local mode is a developer's machine: loopback unless told otherwise.
  const host = str(env, 'HOST') ?? (localMode ? '127.0.0.1' : '0.0.0.0');
  const internalPort =
    str(env, 'INTERNAL_PORT') === undefined ? undefined : integer(env, 'INTERNAL_PORT', 0, 0, 65535);
  if (internalPort !== undefined && internalPort !== 0 && internalPort === port) {
    throw new ConfigError('INTERNAL_PORT', 'must differ from PORT');
  }
  const publicUrl = publicUrlOf(env, localMode, role, port);

  const keyRaw = str(env, 'TOKEN_ENCRYPTION_KEY');
  if (keyRaw === undefined && !localMode)
    throw new ConfigError('TOKEN_ENCRYPTION_KEY', 'is required (or set LOCAL_MODE=1)');
  const tokenEncryptionKeys = keyRaw === undefined ? [] : parseEncryptionKeys(keyRaw);
  if (!localMode && tokenEncryptionKeys.some((k) => k.key.equals(DEVELOPMENT_ENCRYPTION_KEY.key))) {
    throw new ConfigError(
      'TOKEN_ENCRYPTION_KEY',
      'is the local-mode development key, which is public; generate one with `openssl rand -base64 32`',
    );
  }
  const adminToken = str(env, 'ADMIN_TOKEN');
  if (adminToken !== undefined && !localMode && adminToken.length < ADMIN_TOKEN_MIN_LENGTH) {
    throw new ConfigError(
      'ADMIN_TOKEN',
      `must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters (e.g. \`openssl rand -base64 32\`)`,
    );
  }

  const timings: SyncTimings = {
    debounceQuietMs: duration(env, 'DEBOUNCE_QUIET', DEFAULT_TIMINGS.debounceQuietMs),
    debounceMaxMs: duration(env, 'DEBOUNCE_MAX', DEFAULT_TIMINGS.debounceMaxMs),
    fullSyncIntervalMs: duration(env, 'FULL_SYNC_INTERVAL', DEFAULT_TIMINGS.fullSyncIntervalMs),
    windowEdgeIntervalMs: duration(env, 'WINDOW_EDGE_INTERVAL', DEFAULT_TIMINGS.windowEdgeIntervalMs),
    channelCheckIntervalMs: duration(env, 'CHANNEL_CHECK_INTERVAL', DEFAULT_TIMINGS.channelCheckIntervalMs),
    syncRetryWindowMs: duration(env, 'SYNC_RETRY_WINDOW', DEFAULT_TIMINGS.syncRetryWindowMs),
  };
  if (timings.debounceMaxMs < timings.debounceQuietMs) {
    throw new ConfigError('DEBOUNCE_MAX', 'must be at least DEBOUNCE_QUIET');
  }

  const d = DEFAULT_WEBHOOK_SETTINGS;
  const webhooks: WebhookSettings = {
    retryWindowMs: duration(env, 'WEBHOOK_RETRY_WINDOW', d.retryWindowMs),
    retryInitialIntervalMs: duration(env, 'WEBHOOK_RETRY_INITIAL_INTERVAL', d.retryInitialIntervalMs),
    retryMaxIntervalMs: duration(env, 'WEBHOOK_RETRY_MAX_INTERVAL', d.retryMaxIntervalMs),
    requestTimeoutMs: duration(env, 'WEBHOOK_TIMEOUT', d.requestTimeoutMs),
    maxChanges: integer(env, 'WEBHOOK_MAX_CHANGES', d.maxChanges, 1, 1000),
    rateLimitPerSecond: integer(env, 'WEBHOOK_RATE_LIMIT', d.rateLimitPerSecond, 1, 10_000),
  };
  if (webhooks.retryMaxIntervalMs < webhooks.retryInitialIntervalMs) {
    throw new ConfigError('WEBHOOK_RETRY_MAX_INTERVAL', 'must be at least WEBHOOK_RETRY_INITIAL_INTERVAL');
  }

  // The Temporal connection: the SDK's standard variables and profile file (TEMPORAL_ADDRESS, …).
  let temporal: TemporalConnectionConfig;
  try {
    temporal = temporalConnectionFromEnv(env);
  } catch (err) {
    if (err instanceof TemporalEnvError) throw new ConfigError(err.variable, err.message);
    throw err;
  }

  const apiUrlOverride = url(env, 'CRONOFY_API_URL', undefined);
  // Validate the derived URL once, so a bad data center fails here rather than in an activity.
  apiBaseUrl(dataCenter, apiUrlOverride);

  return {
    localMode,
    logLevel: str(env, 'LOG_LEVEL') ?? 'info',
    cronofy: {
      clientId,
      clientSecrets,
      dataCenter,
      apiUrlOverride,
      requestTimeoutMs: duration(env, 'CRONOFY_REQUEST_TIMEOUT', 30_000),
      rateLimitPerSecond: integer(env, 'CRONOFY_RATE_LIMIT_PER_SECOND', 50, 1, 100_000),
      rateLimitPerMinute: integer(env, 'CRONOFY_RATE_LIMIT_PER_MINUTE', 500, 1, 6_000_000),
    },
    http: {
      host,
      port,
      internalPort,
      internalHost: str(env, 'INTERNAL_HOST') ?? host,
      publicUrl: publicUrl ?? `http://127.0.0.1:${port}`,
      publicUrlConfigured: localMode || publicUrl !== undefined,
      maxBodyBytes: integer(env, 'NOTIFICATION_MAX_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
      // 700 ms leaves room within the 1 s promise for HTTP and a busy event loop.
      signalTimeoutMs: duration(env, 'SIGNAL_TIMEOUT', 700),
    },
    adminToken,
    metricsPort:
      str(env, 'METRICS_PORT') === undefined ? undefined : integer(env, 'METRICS_PORT', 0, 1, 65535),
    tokenEncryptionKeys,
    temporal: {
      address: temporal.address,
      namespace: temporal.namespace,
      connection: temporal,
      taskQueue: str(env, 'TEMPORAL_TASK_QUEUE') ?? 'cronofy-sync',
      metricsPort:
        str(env, 'TEMPORAL_METRICS_PORT') === undefined
          ? undefined
          : integer(env, 'TEMPORAL_METRICS_PORT', 0, 1, 65535),
    },
    worker: {
      maxCachedWorkflows:
        str(env, 'WORKER_MAX_CACHED_WORKFLOWS') === undefined
          ? undefined
          : integer(env, 'WORKER_MAX_CACHED_WORKFLOWS', 0, 0, 1_000_000),
      maxConcurrentActivities:
        str(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES') === undefined
          ? undefined
          : integer(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 0, 1, 10_000),
    },
    mongo: {
      uri: str(env, 'MONGODB_URI') ?? 'mongodb://127.0.0.1:27017',
      db: str(env, 'MONGODB_DB') ?? 'cronofy_sync',
    },
    timings,
    webhooks,
    feedRetentionMs: duration(env, 'FEED_RETENTION', DEFAULT_FEED_RETENTION_MS),
  };
}
