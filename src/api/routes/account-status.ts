/**
 * The body of `GET /accounts/:accountId` when the workflow cannot give it (a closed account, a
 * workflow that is not running or does not answer): what MongoDB knows, from the account document
 * and its latest sync runs. Pure; the route (./accounts.ts) fetches the inputs.
 */
import type { AccountInfo } from '../../store/accounts-repo.js';
import type { SyncRunsSummary } from '../../store/sync-runs-repo.js';
import type { AccountStatus } from '../../workflows/messages.js';
import { iso } from './admin-deps.js';

/** `GET /accounts/:accountId`: the workflow's status, and where it came from. */
export type AccountStatusBody = AccountStatus & { workflowRunning: boolean; source: 'workflow' | 'store' };

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
