/**
 * The one place a `CronofyClient` is built from our application's credentials: the worker's
 * activities (one client per data center and priority, with rate-limit and metrics hooks) and the
 * OAuth callback (to exchange a code) both get their clients here, so base URL, secret and timeout
 * are chosen the same way everywhere.
 */
import type { Config } from '../config.js';
import { CronofyClient, type CronofyClientOptions } from './client.js';
import type { DataCenter } from './types.js';
import { apiBaseUrl } from './urls.js';

/** The application's side of every Cronofy call. */
export interface CronofyAppSettings {
  clientId: string;
  /** The current secret (the first of CRONOFY_CLIENT_SECRET). */
  clientSecret: string;
  /** CRONOFY_API_URL: the simulator or a proxy instead of the data center's URL. */
  apiUrlOverride?: string;
  requestTimeoutMs: number;
}

/** Per-client hooks: where a caller adds its rate limiter and metrics. */
export type CronofyClientHooks = Pick<CronofyClientOptions, 'beforeRequest' | 'onResponse'>;

export type CronofyClientFactory = (dataCenter: DataCenter, hooks?: CronofyClientHooks) => CronofyClient;

export function cronofySettings(config: Config): CronofyAppSettings {
  return {
    clientId: config.cronofy.clientId,
    clientSecret: config.cronofy.clientSecrets[0] ?? '',
    apiUrlOverride: config.cronofy.apiUrlOverride,
    requestTimeoutMs: config.cronofy.requestTimeoutMs,
  };
}

/** `fetch`: injected by tests and benchmarks; the global one otherwise. */
export function cronofyClientFactory(
  settings: CronofyAppSettings,
  opts: { fetch?: typeof fetch } = {},
): CronofyClientFactory {
  return (dataCenter, hooks = {}) =>
    new CronofyClient({
      baseUrl: apiBaseUrl(dataCenter, settings.apiUrlOverride),
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      timeoutMs: settings.requestTimeoutMs,
      fetch: opts.fetch,
      ...hooks,
    });
}
