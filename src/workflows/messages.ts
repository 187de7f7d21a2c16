/**
 * The account workflow's public messages and the data they carry. Shared by the workflow, the API
 * (which sends them) and the activities (whose inputs and results are declared here). Only plain
 * data: no tokens and no event data ever travel through these types (they end up in history).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SyncKind, SyncMode, SyncState, SyncTrigger } from '../domain.js';

export const WORKFLOW_TYPE = 'accountSync';
export const workflowIdFor = (accountId: string): string => `cronofy-account:${accountId}`;

export type { SyncKind, SyncMode, SyncState, SyncTimings } from '../domain.js';

/** A Cronofy push, as the receiver hands it over. */
export interface NotificationSignal {
  type: string;
  changesSince?: string;
  channelId?: string;
  /** ISO time the receiver got it; the start of the freshness measurement. */
  receivedAt: string;
}

export interface SyncRequest {
  mode: SyncMode;
}

export interface DeregisterRequest {
  purge: boolean;
}

export interface SyncInput {
  accountId: string;
  kind: SyncKind;
  /** Incremental and catch-up: Read Events `last_modified`. */
  lastModified?: string;
  /** Why this sync runs, for sync_runs and priorities. */
  trigger: SyncTrigger;
  /** Earliest receive time of the notifications this sync serves (freshness metric). */
  notificationReceivedAt?: string;
  /** Window edge: where the last full or window-edge read ended; the band starts there if earlier. */
  windowReadTo?: string;
  /** A backfill (`catch_up` without `lastModified`): these calendars only, the whole window. */
  calendarIds?: string[];
}

export interface SyncResult {
  kind: SyncKind;
  pages: number;
  upserted: number;
  deleted: number;
  unchanged: number;
  startedAt: string;
  finishedAt: string;
  /** Safe `last_modified` for a later catch-up: changes at or after it may not be in this read. */
  watermark: string;
  /** Full and window-edge syncs: the `to` date (exclusive) they read every event up to. */
  readTo?: string;
  /**
   * The account's registered calendars as the sync ended (`null`: all), events outside them already
   * tombstoned: the workflow prunes and backfills from it. Absent from workers before this field.
   */
  registeredCalendarIds?: string[] | null;
}

export interface AccountInfoResult {
  registered: boolean;
  dataCenter?: string;
  calendarIds?: string[] | null;
  channelId?: string | null;
}

export interface LastSync {
  kind: SyncKind;
  at: string;
  upserted: number;
  deleted: number;
  pages: number;
}

/** One of the account's calendar profiles, as Cronofy's UserInfo last reported it. */
export interface ProfileState {
  profileId: string;
  profileName: string | null;
  providerName: string;
  /** False: Cronofy lost the provider's authorization; the user must relink (`relinkUrl`). */
  connected: boolean;
  relinkUrl: string | null;
  initialSyncRequired: boolean;
}

/** The `status` query result, and the body of `GET /accounts/:accountId`. */
export interface AccountStatus {
  accountId: string;
  state: SyncState;
  channel: { id: string | null; lastNotificationAt: string | null; lastCheckedAt: string | null };
  lastSyncs: Partial<Record<SyncKind, LastSync>>;
  lastSuccessfulSyncAt: string | null;
  watermark: string | null;
  pending: {
    notifications: number;
    earliestChangesSince: string | null;
    firstPendingAt: string | null;
    requested: SyncMode[];
    syncDueAt: string | null;
  };
  running: SyncKind | null;
  nextFullSyncAt: string | null;
  nextWindowEdgeSyncAt: string | null;
  nextChannelCheckAt: string | null;
  failingSince: string | null;
  lastError: { message: string; type: string | null; at: string } | null;
  profileDisconnected: { at: string } | null;
  /** The profiles as Cronofy last reported them; null until first read. */
  profiles?: ProfileState[] | null;
}

export const notificationSignal = defineSignal<[NotificationSignal]>('notification');
export const requestSyncSignal = defineSignal<[SyncRequest]>('requestSync');
export const tokensUpdatedSignal = defineSignal<[]>('tokensUpdated');
export const deregisterSignal = defineSignal<[DeregisterRequest]>('deregister');
export const statusQuery = defineQuery<AccountStatus>('status');
export const syncNowUpdate = defineUpdate<SyncResult, [SyncRequest]>('syncNow');
