/**
 * The simulator's public shapes: its options, the faults a test injects, the request and channel
 * logs it keeps, and `SimulatorControls`, the part of the simulator the `/_sim/` control API
 * drives. In a file of their own so the control API (./control.ts) and the Cronofy API
 * (./cronofy-api.ts) depend on these types, not on the simulator class that uses them.
 */
import type { CronofyChannel, CronofyEvent } from '../cronofy/types.js';
import type { SimDelivery } from './delivery.js';
import type { PagingMode } from './read-events.js';
import type {
  CreateAccountOptions,
  SimAccount,
  SimCalendarChange,
  SimEventInput,
  SimProfile,
} from './state.js';

export interface SimulatorLogger {
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface CronofySimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Base URL used in `next_page` links and `sim.url`; default derived from the request's Host. */
  publicUrl?: string;
  clientId: string;
  /** Active client secrets, current first. All of them sign each push (comma-separated header). */
  clientSecrets: string[];
  /** Read Events page size (Cronofy's is unknown and not settable). Default 50; read on every page. */
  pageSize?: number;
  /** How `next_page` continues a chain (see `PagingMode`). Default `keyset`; read on every page. */
  paging?: PagingMode;
  /**
   * Whether Read Events still returns the events of a disconnected profile (unknown at Cronofy).
   * Default `hidden`, the worse case: a full read then lacks them.
   */
  disconnectedProfileEvents?: 'hidden' | 'returned';
  /** Default 3600000. */
  accessTokenTtlMs?: number;
  /** A push must be answered 2xx within this. Default 5000. */
  deliveryTimeoutMs?: number;
  /** Delays between tries of a failed push; the last one repeats. Default 30 s, 1, 5, 15, 30 min, 1 h. */
  deliveryRetryDelaysMs?: number[];
  /** A push failing for this long closes its channel silently. Default 24 h. */
  channelRetryWindowMs?: number;
  /** Default 128. */
  maxChannelsPerAccount?: number;
  /** Old Cronofy docs limit callback URLs to 128 characters; enforced by default. `null` = no limit. */
  maxCallbackUrlLength?: number | null;
  /** Cronofy's per-application limits (default 50/s and 500/min) or `false` to disable. */
  rateLimit?: { perSecond: number; perMinute: number } | false;
  /** Clock for `created`/`updated`, `changes_since`, the sync window and token expiry. */
  now?: () => Date;
  logger?: SimulatorLogger;
  /** Serve the `/_sim/` control API. Default true. */
  control?: boolean;
}

export interface SimFault {
  /** Any method when absent. */
  method?: string;
  /** Exact path (`/v1/events`) or a RegExp tested against the path. */
  path: string | RegExp;
  /** Answer with this status instead of handling the request. */
  status?: number;
  /** `Retry-After` header value for the faulty answer. */
  retryAfter?: string;
  /** Wait before answering (with `status`, with a drop, or before handling normally). */
  delayMs?: number;
  /** Destroy the socket instead of answering. */
  drop?: boolean;
  /**
   * Read Events only: answer this page normally but without `next_page`, `pages.total` unchanged,
   * so the chain ends early (`pages.current < pages.total`). Not used up by a page that is the last
   * anyway.
   */
  endChain?: boolean;
  /** Body of the faulty answer; default a Cronofy-like body for 422, none otherwise. */
  body?: unknown;
  /** How many matching requests to affect. */
  times: number;
}

export interface SimFaultHandle {
  id: string;
  remaining(): number;
  clear(): void;
}

export interface SimRequest {
  method: string;
  path: string;
  /** The raw query string (`?tzid=…`); bearer tokens are never in it. */
  query: string;
  status: number | 'dropped';
  at: Date;
  /** True when an injected fault produced the answer. */
  fault?: boolean;
}

export interface SimChannelClosure {
  accountId: string;
  channel: CronofyChannel;
  reason: 'delivery_failures' | 'silent';
  at: Date;
}

/** Told after each Read Events page is answered (see `CronofySimulator.onPageServed`). */
export interface SimPageServed {
  accountId: string;
  /** `pages.current` of the page served. */
  page: number;
  total: number;
  /** Whether the page carried a `next_page`. */
  hasNext: boolean;
  eventUids: string[];
}

/**
 * What the `/_sim/` control API (./control.ts) does to a simulator; `CronofySimulator` implements
 * it, and documents each member.
 */
export interface SimulatorControls {
  readonly url: string;
  readonly requests: SimRequest[];
  readonly closedChannels: SimChannelClosure[];
  readonly deliveries: SimDelivery[];
  createAccount(opts?: CreateAccountOptions): SimAccount;
  upsertEvent(
    accountId: string,
    input: SimEventInput,
    opts?: { notify?: boolean; updated?: string },
  ): CronofyEvent;
  deleteEvent(accountId: string, eventUid: string, opts?: { notify?: boolean }): CronofyEvent;
  undeleteEvent(
    accountId: string,
    eventUid: string,
    opts?: { notify?: boolean; updated?: string },
  ): CronofyEvent;
  afterPage(accountId: string, page: number, fn: () => void): () => void;
  profiles(accountId: string): SimProfile[];
  disconnectProfile(accountId: string, profileId?: string): SimProfile;
  changeCalendar(accountId: string, calendarId: string, change: SimCalendarChange): SimProfile;
  reconnectProfile(
    accountId: string,
    profileId?: string,
    opts?: { initialSyncCompleted?: boolean },
  ): SimProfile;
  setPaging(opts: { pageSize?: number; paging?: PagingMode }): void;
  truth(accountId: string, opts?: { includeDeleted?: boolean }): CronofyEvent[];
  channels(accountId: string): CronofyChannel[];
  closeChannelSilently(accountId: string, channelId: string): boolean;
  expireAccessTokens(accountId: string): void;
  revoke(accountId: string): void;
  createAuthorizationCode(accountId: string, opts?: { redirectUri?: string }): string;
  pushNotification(accountId: string, type: string, extra?: Record<string, unknown>): string[];
  injectFault(fault: SimFault): SimFaultHandle;
  clearFaults(): void;
}
