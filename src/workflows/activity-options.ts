/**
 * The account workflow's activity proxies: timeouts, retry policy and task priorities, next to one
 * another so their relations are visible (the sync retry window bounds every sync's attempts).
 */
import { type ActivityOptions, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { SyncTimings, SyncTrigger } from '../domain.js';
import { NON_RETRYABLE_FAILURE_TYPES } from './failures.js';

/** Lower keys are dispatched first: a change someone is waiting for beats a periodic re-read. */
const PRIORITY: Record<SyncTrigger, number> = { notification: 1, manual: 1, recovery: 2, schedule: 3 };

export function activitiesFor(t: SyncTimings, priorities: boolean) {
  const retry: ActivityOptions['retry'] = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    // Capped so a day-long outage costs ~150 attempts, not thousands; Retry-After overrides it.
    maximumInterval: '10m',
    nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
  };
  // A sync may page through thousands of events: one attempt is bounded and heartbeats its page
  // cursor, so a retry resumes. All attempts together get the sync retry window (24 h default).
  const syncOptions: ActivityOptions = {
    startToCloseTimeout: '15m',
    // A worker that dies mid-sync is noticed within this; the retry resumes from the heartbeat.
    heartbeatTimeout: '30s',
    scheduleToCloseTimeout: t.syncRetryWindowMs,
    retry,
  };
  return {
    /**
     * One proxy per sync, so its summary labels the Web UI timeline and its priority lets the
     * server hand notification-driven syncs to workers before periodic ones (lower key first).
     */
    syncFor: (summary: string, trigger: SyncTrigger) =>
      proxyActivities<Activities>({
        ...syncOptions,
        summary,
        ...(priorities ? { priority: { priorityKey: PRIORITY[trigger] } } : {}),
      }),
    // Channel calls are single requests; a shorter window keeps deregister and status responsive
    // when Cronofy is down (the loop retries them later with backoff).
    channel: proxyActivities<Activities>({ startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry }),
    // The worker's configuration: no I/O, so a local activity (no task-queue round trip).
    settings: proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 3 } }),
    // MongoDB-only bookkeeping.
    store: proxyActivities<Activities>({
      startToCloseTimeout: '30s',
      scheduleToCloseTimeout: '1h',
      retry: { ...retry, maximumInterval: '1m' },
    }),
  };
}
