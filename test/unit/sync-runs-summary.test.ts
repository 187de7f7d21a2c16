/** `summarizeRuns`: what an account's latest finished sync runs say, for the status from the store. */
import { describe, expect, it } from 'vitest';
import type { SyncRunDoc } from '../../src/store/db.js';
import { summarizeRuns } from '../../src/store/sync-runs-repo.js';

const at = (h: number) => new Date(Date.UTC(2026, 5, 1, h));
const run = (over: Partial<SyncRunDoc>): SyncRunDoc => ({
  accountId: 'a',
  kind: 'incremental',
  workflowRunId: 'r',
  params: {},
  startedAt: at(0),
  finishedAt: at(0),
  durationMs: 0,
  pages: 1,
  upserted: 0,
  deleted: 0,
  outcome: 'succeeded',
  error: null,
  attempts: 1,
  ...over,
});

describe('summarizeRuns', () => {
  it('keeps the newest success of each kind and the latest success time', () => {
    const s = summarizeRuns([
      run({ kind: 'incremental', startedAt: at(5), finishedAt: at(6), upserted: 3 }),
      run({ kind: 'full', startedAt: at(4), finishedAt: null, upserted: 9, pages: 4 }),
      run({ kind: 'incremental', startedAt: at(2), finishedAt: at(2), upserted: 1 }),
    ]);
    expect(s.lastSyncs).toEqual({
      incremental: { kind: 'incremental', at: at(6).toISOString(), upserted: 3, deleted: 0, pages: 1 },
      // No finishedAt: the start time stands in.
      full: { kind: 'full', at: at(4).toISOString(), upserted: 9, deleted: 0, pages: 4 },
    });
    expect(s.lastSuccessAt).toEqual(at(6));
    expect(s.lastFailure).toBeNull();
  });

  it('reports a failure only when it is the latest run', () => {
    const failed = run({ outcome: 'failed', error: null, startedAt: at(7), finishedAt: at(8) });
    expect(summarizeRuns([failed, run({ startedAt: at(1) })]).lastFailure).toEqual({
      message: 'sync failed',
      at: at(8),
    });
    expect(summarizeRuns([run({ startedAt: at(9) }), failed]).lastFailure).toBeNull();
    expect(summarizeRuns([])).toEqual({ lastSyncs: {}, lastSuccessAt: null, lastFailure: null });
  });
});
