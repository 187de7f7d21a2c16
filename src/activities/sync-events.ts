/**
 * The sync activity: pages through Read Events and writes each page to MongoDB as it goes.
 * Progress (next page URL and counts) is heartbeated after each page, so a retried attempt resumes
 * where the last one stopped. Only counts and a watermark go back to the workflow.
 */
import { Context } from '@temporalio/activity';
import { type Collection, ObjectId } from 'mongodb';
import type { AccountAuth, CronofyClient } from '../cronofy/client.js';
import type { ReadEventsParams } from '../cronofy/types.js';
import { fullSyncWindow, windowEdgeWindow } from '../cronofy/window.js';
import { toCronofyTime } from '../lib/time.js';
import type { Metrics } from '../metrics.js';
import type { AccountInfo } from '../store/accounts-repo.js';
import type { SyncRunDoc } from '../store/db.js';
import type { EventsRepo } from '../store/events-repo.js';
import { FullSyncReconciliation } from '../store/full-sync-reconciliation.js';
import type { SyncInput, SyncResult } from '../workflows/messages.js';

/** Cronofy's clock and ours may disagree a little; a watermark this far back cannot miss a change. */
export const WATERMARK_SAFETY_MS = 60_000;

/**
 * Besides after each page, the activity heartbeats on a timer (with the last progress), so one slow
 * step (a Cronofy answer near its 30 s request timeout, MongoDB busy or failing over) is not taken
 * for a dead worker by the 30 s heartbeat timeout: that started a second attempt of the same sync
 * next to the first, adding load to whatever was slow. A worker that really died stops
 * heartbeating at once; an attempt that makes no progress for KEEPALIVE_MAX_STALL_MS stops too,
 * and is then timed out and retried.
 */
export const KEEPALIVE_INTERVAL_MS = 10_000;
export const KEEPALIVE_MAX_STALL_MS = 120_000;

interface KeepAlive {
  /** Progress was made: heartbeat it now, and keep heartbeating it on the timer. */
  beat(p: SyncProgress): void;
  stop(): void;
}

function keepAlive(ctx: Context, resumed: SyncProgress | undefined): KeepAlive {
  let latest = resumed;
  let progressAt = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - progressAt <= KEEPALIVE_MAX_STALL_MS) ctx.heartbeat(latest);
  }, KEEPALIVE_INTERVAL_MS);
  return {
    beat(p) {
      latest = p;
      progressAt = Date.now();
      ctx.heartbeat(p);
    },
    stop: () => clearInterval(timer),
  };
}

interface SyncProgress {
  syncRunId: string;
  startedAt: string;
  nextPageUrl: string | null;
  readDone: boolean;
  pages: number;
  upserted: number;
  deleted: number;
  unchanged: number;
}

export interface SyncDeps {
  events: EventsRepo;
  syncRuns: Collection<SyncRunDoc>;
  metrics?: Metrics;
  now: () => Date;
}

/** Read Events parameters for a sync kind. Pure. */
export function readParams(
  input: SyncInput,
  account: Pick<AccountInfo, 'calendarIds'>,
  startedAt: Date,
): ReadEventsParams {
  const base: ReadEventsParams = {
    tzid: 'Etc/UTC',
    includeDeleted: true,
    // The application's own (managed) events are part of the user's calendar too.
    includeManaged: true,
    // Without it Cronofy returns only events inside from/to now: a change that moves an event
    // out of the window is never read, our copy stays at the old time and a full sync tombstones
    // a live event. With it, events that were ever inside come back with their new times.
    includeMoved: true,
    ...(account.calendarIds?.length ? { calendarIds: account.calendarIds } : {}),
  };
  switch (input.kind) {
    case 'full': {
      const w = fullSyncWindow(startedAt.getTime());
      return { ...base, from: w.from, to: w.to };
    }
    case 'window_edge': {
      const w = windowEdgeWindow(startedAt.getTime(), input.windowReadTo);
      return { ...base, from: w.from, to: w.to };
    }
    default: {
      // Incremental and catch-up read the whole window, filtered by last_modified.
      const w = fullSyncWindow(startedAt.getTime());
      return {
        ...base,
        from: w.from,
        to: w.to,
        ...(input.lastModified ? { lastModified: input.lastModified } : {}),
      };
    }
  }
}

/**
 * Yields what `source` yields, asking it for the next item as soon as one is handed out: Cronofy
 * is read for page N+1 while page N is written to MongoDB. At most one item is read ahead, so
 * a failed write stops the read after that one page. The resume cursor is still only what was
 * written (the caller heartbeats after each write).
 */
export async function* prefetching<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  try {
    while (true) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      // Handled here so a read failing while the caller writes is not an unhandled rejection;
      // the caller sees it on its next step.
      next.catch(() => undefined);
      yield r.value;
    }
  } finally {
    // Stopped early (a write failed): the source is closed once its read ahead settles, without
    // holding up the caller's error for it.
    void next.then(
      () => it.return?.(),
      () => undefined,
    );
  }
}

export async function syncEvents(
  deps: SyncDeps,
  input: SyncInput,
  account: AccountInfo,
  client: CronofyClient,
  auth: AccountAuth,
): Promise<SyncResult> {
  const ctx = Context.current();
  const keep = keepAlive(ctx, ctx.info.heartbeatDetails as SyncProgress | undefined);
  try {
    return await syncPages(deps, input, account, client, auth, ctx, keep);
  } finally {
    keep.stop();
  }
}

async function syncPages(
  deps: SyncDeps,
  input: SyncInput,
  account: AccountInfo,
  client: CronofyClient,
  auth: AccountAuth,
  ctx: Context,
  keep: KeepAlive,
): Promise<SyncResult> {
  const resume = ctx.info.heartbeatDetails as SyncProgress | undefined;
  const now = deps.now;

  let progress: SyncProgress;
  if (resume?.syncRunId) {
    progress = resume;
    await deps.syncRuns.updateOne({ _id: toId(resume.syncRunId) }, { $set: { attempts: ctx.info.attempt } });
  } else {
    const startedAt = now();
    const params = readParams(input, account, startedAt);
    const res = await deps.syncRuns.insertOne({
      accountId: input.accountId,
      kind: input.kind,
      workflowRunId: ctx.info.workflowExecution?.runId ?? '',
      params: {
        lastModified: typeof params.lastModified === 'string' ? params.lastModified : undefined,
        from: params.from,
        to: params.to,
        calendarIds: params.calendarIds,
      },
      startedAt,
      finishedAt: null,
      durationMs: null,
      pages: 0,
      upserted: 0,
      deleted: 0,
      outcome: 'running',
      error: null,
      attempts: ctx.info.attempt,
    });
    progress = {
      syncRunId: res.insertedId.toHexString(),
      startedAt: startedAt.toISOString(),
      nextPageUrl: null,
      readDone: false,
      pages: 0,
      upserted: 0,
      deleted: 0,
      unchanged: 0,
    };
  }
  const startedAt = new Date(progress.startedAt);
  const params = readParams(input, account, startedAt);
  const reconciliation =
    input.kind === 'full'
      ? new FullSyncReconciliation(
          deps.events,
          input.accountId,
          startedAt,
          Boolean(progress.nextPageUrl) || progress.readDone,
        )
      : undefined;
  try {
    if (!progress.readDone) {
      const pages = client.readEventsPages(
        auth,
        params,
        progress.nextPageUrl ? { startUrl: progress.nextPageUrl } : {},
      );
      await reconciliation?.loadStoredVersions();
      for await (const page of prefetching(pages)) {
        const written = reconciliation
          ? await reconciliation.writePage(page.events, now())
          : await deps.events.writePage(input.accountId, page.events, now());
        progress = {
          ...progress,
          pages: progress.pages + 1,
          upserted: progress.upserted + written.upserted,
          deleted: progress.deleted + written.deleted,
          unchanged: progress.unchanged + written.unchanged,
          nextPageUrl: page.pages.next_page ?? null,
          readDone: !page.pages.next_page,
        };
        keep.beat(progress);
      }
      progress = { ...progress, readDone: true, nextPageUrl: null };
      keep.beat(progress);
    }

    if (reconciliation) {
      const tombstoned = await reconciliation.finish(now());
      progress = {
        ...progress,
        deleted: progress.deleted + tombstoned,
        upserted: progress.upserted + tombstoned,
      };
    }

    const finishedAt = now();
    await deps.syncRuns.updateOne(
      { _id: toId(progress.syncRunId) },
      {
        $set: {
          finishedAt,
          durationMs: finishedAt.getTime() - startedAt.getTime(),
          pages: progress.pages,
          upserted: progress.upserted,
          deleted: progress.deleted,
          outcome: 'succeeded',
          error: null,
        },
      },
    );
    deps.metrics?.syncs.inc({ kind: input.kind, outcome: 'succeeded' });
    deps.metrics?.syncDuration.observe(
      { kind: input.kind },
      (finishedAt.getTime() - startedAt.getTime()) / 1000,
    );
    deps.metrics?.eventsWritten.inc({ op: 'upserted' }, progress.upserted);
    deps.metrics?.eventsWritten.inc({ op: 'deleted' }, progress.deleted);
    if (input.notificationReceivedAt) {
      deps.metrics?.freshness.observe(
        (finishedAt.getTime() - Date.parse(input.notificationReceivedAt)) / 1000,
      );
    }
    return {
      kind: input.kind,
      pages: progress.pages,
      upserted: progress.upserted,
      deleted: progress.deleted,
      unchanged: progress.unchanged,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      watermark: toCronofyTime(startedAt.getTime() - WATERMARK_SAFETY_MS),
      ...(input.kind === 'full' || input.kind === 'window_edge' ? { readTo: params.to } : {}),
    };
  } catch (err) {
    deps.metrics?.syncs.inc({ kind: input.kind, outcome: 'failed' });
    await deps.syncRuns
      .updateOne(
        { _id: toId(progress.syncRunId) },
        {
          $set: {
            outcome: 'failed',
            error: err instanceof Error ? err.message : String(err),
            pages: progress.pages,
            upserted: progress.upserted,
            deleted: progress.deleted,
            finishedAt: now(),
          },
        },
      )
      .catch(() => undefined);
    throw err;
  }
}

function toId(hex: string): ObjectId {
  return new ObjectId(hex);
}
