/**
 * A workflow that runs the real sync activity once, for tests of the activity itself on a real
 * Temporal server (the account workflow would add channels, timers and bookkeeping around it).
 * Production-like timeouts; one attempt, so any later write can only come from that attempt.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../../src/activities/index.js';
import type { SyncInput, SyncResult } from '../../../src/workflows/messages.js';

const { syncEvents } = proxyActivities<Activities>({
  startToCloseTimeout: '15m',
  heartbeatTimeout: '30s',
  retry: { maximumAttempts: 1 },
});

export async function syncOnce(input: SyncInput): Promise<SyncResult> {
  return syncEvents(input);
}
