/**
 * `sync_runs`: one document per sync, the operational log of what each sync did (its kind,
 * parameters, pages, counts, duration, outcome, error). The sync activity writes it as a sync
 * starts, resumes, succeeds or fails; the admin API reads it back to describe an account whose
 * workflow is not there to answer. Documents expire (see `SYNC_RUN_TTL_SECONDS` in ./db.ts).
 */
import { type Collection, ObjectId } from 'mongodb';
import type { SyncKind } from '../domain.js';
import type { LastSync } from '../workflows/messages.js';
import type { ReconciliationRecord, SyncRunDoc } from './db.js';
import type { DriftCounts } from './events-repo.js';

/** What a sync knows when it starts; the counts and outcome are filled in as it goes. */
export type NewSyncRun = Pick<
  SyncRunDoc,
  'accountId' | 'kind' | 'workflowRunId' | 'params' | 'startedAt' | 'attempts'
>;

export interface SyncRunCounts {
  pages: number;
  upserted: number;
  deleted: number;
}

/** What the finished runs of an account say about it, newest first. */
export interface SyncRunsSummary {
  /** The latest successful run of each kind. */
  lastSyncs: Partial<Record<SyncKind, LastSync>>;
  lastSuccessAt: Date | null;
  /** The latest finished run, when it failed. */
  lastFailure: { message: string; at: Date } | null;
}

/** How many finished runs a summary looks at: enough to find the last success of each kind. */
export const SUMMARY_RUNS = 20;

export class SyncRunsRepo {
  constructor(private readonly runs: Collection<SyncRunDoc>) {}

  /** Records a sync as running; resolves to its id (kept in the activity's heartbeat to resume). */
  async start(run: NewSyncRun): Promise<string> {
    const res = await this.runs.insertOne({
      ...run,
      finishedAt: null,
      durationMs: null,
      pages: 0,
      upserted: 0,
      deleted: 0,
      outcome: 'running',
      error: null,
    });
    return res.insertedId.toHexString();
  }

  /**
   * Where a running sync is, after each page it wrote: one small update, so that the API can show
   * its progress. Only while the run is running and `attempt` owns it (a replaced attempt that
   * writes late does not move the counts back).
   */
  async progress(
    id: string,
    attempt: number,
    p: SyncRunCounts & { pagesTotal: number | null },
  ): Promise<void> {
    await this.runs.updateOne(
      { _id: new ObjectId(id), outcome: 'running', attempts: attempt },
      { $set: { pages: p.pages, pagesTotal: p.pagesTotal, upserted: p.upserted, deleted: p.deleted } },
    );
  }

  /** The account's latest run still marked running, if any (the API checks it is the one running). */
  async running(accountId: string): Promise<SyncRunDoc | null> {
    return this.runs.findOne({ accountId, outcome: 'running' }, { sort: { startedAt: -1 } });
  }

  /** A retried activity attempt took the run over. */
  async resumed(id: string, attempt: number): Promise<void> {
    await this.runs.updateOne({ _id: new ObjectId(id) }, { $set: { attempts: attempt } });
  }

  async succeeded(
    id: string,
    run: SyncRunCounts & {
      finishedAt: Date;
      durationMs: number;
      /** Full syncs only. */
      drift?: DriftCounts | null;
      reconciliation?: ReconciliationRecord;
    },
  ): Promise<void> {
    await this.runs.updateOne(
      { _id: new ObjectId(id) },
      {
        $set: {
          finishedAt: run.finishedAt,
          durationMs: run.durationMs,
          pages: run.pages,
          upserted: run.upserted,
          deleted: run.deleted,
          outcome: 'succeeded',
          error: null,
          ...(run.drift !== undefined ? { drift: run.drift } : {}),
          ...(run.reconciliation ? { reconciliation: run.reconciliation } : {}),
        },
      },
    );
  }

  /**
   * Whether the account had a successful sync of `kind` before `before`: a full sync's writes
   * count as drift only when an earlier full sync had already made the copy whole.
   */
  async hasSucceeded(accountId: string, kind: SyncKind, before: Date): Promise<boolean> {
    const run = await this.runs.findOne(
      { accountId, kind, outcome: 'succeeded', startedAt: { $lt: before } },
      { projection: { _id: 1 } },
    );
    return run !== null;
  }

  /**
   * `attempt`: only while that attempt still owns the run (a later one sets `attempts` when it
   * resumes), so a cancelled attempt that hears of it late never marks its retry's run failed.
   */
  async failed(
    id: string,
    run: SyncRunCounts & { error: string; finishedAt: Date },
    attempt?: number,
  ): Promise<void> {
    await this.runs.updateOne(
      { _id: new ObjectId(id), ...(attempt === undefined ? {} : { attempts: attempt }) },
      {
        $set: {
          outcome: 'failed',
          error: run.error,
          pages: run.pages,
          upserted: run.upserted,
          deleted: run.deleted,
          finishedAt: run.finishedAt,
        },
      },
    );
  }

  /** Every run of the account (purge). */
  async deleteAccount(accountId: string): Promise<number> {
    return (await this.runs.deleteMany({ accountId })).deletedCount;
  }

  /** The account's last syncs and last error, from its latest finished runs. */
  async summary(accountId: string): Promise<SyncRunsSummary> {
    const runs = await this.runs
      .find({ accountId, outcome: { $in: ['succeeded', 'failed'] } })
      .sort({ startedAt: -1 })
      .limit(SUMMARY_RUNS)
      .toArray();
    return summarizeRuns(runs);
  }
}

/** Pure: `runs` are finished runs of one account, newest first. */
export function summarizeRuns(runs: readonly SyncRunDoc[]): SyncRunsSummary {
  const lastSyncs: Partial<Record<SyncKind, LastSync>> = {};
  let lastSuccessAt: Date | null = null;
  for (const r of runs) {
    if (r.outcome !== 'succeeded' || lastSyncs[r.kind]) continue;
    const at = r.finishedAt ?? r.startedAt;
    lastSyncs[r.kind] = {
      kind: r.kind,
      at: at.toISOString(),
      upserted: r.upserted,
      deleted: r.deleted,
      pages: r.pages,
    };
    if (!lastSuccessAt || at > lastSuccessAt) lastSuccessAt = at;
  }
  const latest = runs[0];
  const lastFailure =
    latest?.outcome === 'failed'
      ? { message: latest.error ?? 'sync failed', at: latest.finishedAt ?? latest.startedAt }
      : null;
  return { lastSyncs, lastSuccessAt, lastFailure };
}
