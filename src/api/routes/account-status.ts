/**
 * The body of `GET /accounts/:accountId` when the workflow cannot give it (a closed account, a
 * workflow that is not running or does not answer): what MongoDB knows, from the account document
 * and its latest sync runs. Pure; the route (./accounts.ts) fetches the inputs.
 */
import type { AccountInfo } from '../../store/accounts-repo.js';
import type { SyncKind, SyncRunDoc } from '../../store/db.js';
import type { SyncRunsSummary } from '../../store/sync-runs-repo.js';
import type { AccountStatus } from '../../workflows/messages.js';
import { iso } from './admin-deps.js';

/** How far the running sync got, from its `sync_runs` document. */
export interface SyncProgress {
  kind: SyncKind;
  pagesDone: number;
  pagesTotal: number | null;
  upserted: number;
  deleted: number;
  startedAt: string;
}

/** `GET /accounts/:accountId`: the workflow's status, and where it came from. */
export type AccountStatusBody = AccountStatus & {
  workflowRunning: boolean;
  source: 'workflow' | 'store';
  progress?: SyncProgress;
};

/**
 * The progress of the sync the workflow says is running, from the account's latest running run.
 * Only when the kinds agree: a run left `running` by an attempt that died, or a sync whose run is
 * not recorded yet, shows no progress rather than another sync's.
 */
export function progressOf(run: SyncRunDoc | null, running: SyncKind | null): SyncProgress | undefined {
  if (!run || running === null || run.kind !== running) return undefined;
  return {
    kind: run.kind,
    pagesDone: run.pages,
    pagesTotal: run.pagesTotal ?? null,
    upserted: run.upserted,
    deleted: run.deleted,
    startedAt: run.startedAt.toISOString(),
  };
}

/** Registration facts the workflow does not hold, added to either kind of status. */
export function registration(a: AccountInfo) {
  return {
    dataCenter: a.dataCenter,
    calendarIds: a.calendarIds,
    registeredAt: iso(a.createdAt),
    deregisteredAt: iso(a.deregisteredAt),
  };
}

export function storedStatus(
  a: AccountInfo,
  runs: SyncRunsSummary,
  workflowRunning: boolean,
): AccountStatusBody {
  return {
    accountId: a.accountId,
    state: a.state,
    channel: { id: a.channelId || null, lastNotificationAt: null, lastCheckedAt: null },
    lastSyncs: runs.lastSyncs,
    lastSuccessfulSyncAt: iso(runs.lastSuccessAt),
    watermark: null,
    pending: {
      notifications: 0,
      earliestChangesSince: null,
      firstPendingAt: null,
      requested: [],
      syncDueAt: null,
    },
    running: null,
    nextFullSyncAt: null,
    nextWindowEdgeSyncAt: null,
    nextChannelCheckAt: null,
    failingSince: null,
    lastError: runs.lastFailure
      ? { message: runs.lastFailure.message, type: null, at: runs.lastFailure.at.toISOString() }
      : null,
    profileDisconnected: null,
    workflowRunning,
    source: 'store',
  };
}
