/**
 * The domain's vocabulary, defined once: sync kinds and modes, account states, the timing knobs the
 * account workflow runs on, and what an account id may be. Plain data only: imported by the
 * workflow sandbox as well as by the API, the activities and the store.
 */

export const SYNC_STATES = ['active', 'degraded', 'disconnected', 'closed'] as const;
/** An account's sync state; also the `CronofySyncState` search attribute and `accounts.state`. */
export type SyncState = (typeof SYNC_STATES)[number];

export const SYNC_KINDS = ['incremental', 'full', 'window_edge', 'catch_up'] as const;
export type SyncKind = (typeof SYNC_KINDS)[number];

/** What an operator may ask for (`POST /accounts/:id/sync`, the `syncNow` update). */
export const SYNC_MODES = ['incremental', 'full'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

/** Why a sync runs, for `sync_runs` and task priorities. */
export type SyncTrigger = 'notification' | 'manual' | 'schedule' | 'recovery';

/** Timing knobs the account workflow runs on; from config, passed as input (workflows cannot read env). */
export interface SyncTimings {
  debounceQuietMs: number;
  debounceMaxMs: number;
  fullSyncIntervalMs: number;
  windowEdgeIntervalMs: number;
  channelCheckIntervalMs: number;
  syncRetryWindowMs: number;
}

/**
 * Account ids: a path segment and part of a workflow id, so URL- and shell-safe; `.` and `..` are
 * refused because proxies normalise them away.
 */
export const ACCOUNT_ID_PATTERN = '^(?!\\.{1,2}$)[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,127}$';
export const ACCOUNT_ID_RE = new RegExp(ACCOUNT_ID_PATTERN);

/** Where Cronofy pushes an account's notifications: the URL its channel is created with. */
export function callbackUrlFor(publicUrl: string, accountId: string): string {
  return `${publicUrl}/cronofy/notifications/${encodeURIComponent(accountId)}`;
}

const CALLBACK_PATH_SUFFIX = /\/cronofy\/notifications\/([^/]+)$/;

/**
 * The account a callback URL names (the inverse of `callbackUrlFor`), from its path suffix only:
 * the host, scheme and any prefix a proxy adds or a `PUBLIC_URL` change moves do not matter.
 * Undefined when the URL is not one of ours.
 */
export function accountIdOfCallbackUrl(callbackUrl: string): string | undefined {
  let path: string;
  try {
    path = new URL(callbackUrl).pathname;
  } catch {
    return undefined;
  }
  const segment = CALLBACK_PATH_SUFFIX.exec(path)?.[1];
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** What the account workflow takes from the worker's configuration (refreshed while it runs). */
export interface WorkerSettings {
  timings: SyncTimings;
  /** Absent when the worker has no `PUBLIC_URL` of its own: the workflow keeps the one it has. */
  callbackUrl?: string;
}
