/**
 * The sync activity: pages through Read Events and writes each page to MongoDB as it goes.
 * Progress (next page URL and counts) is heartbeated after each page, so a retried attempt resumes
 * where the last one stopped. Only counts and a watermark go back to the workflow.
 *
 * An attempt stops when it is cancelled: its heartbeat or start-to-close timeout passed (Temporal
 * may already run the next attempt), its workflow was cancelled or terminated, or the worker is
 * shutting down. Temporal tells it through the activity's `cancellationSignal`, on a heartbeat's
 * answer; the signal ends the rate-limiter wait and the Cronofy request in flight, and it is
 * checked before every MongoDB write, so a zombie attempt never writes pages next to its retry
 * (the "same second, later read wins" rule of the events store assumes one writer).
 *
 * A full sync's reconciliation of deletions is in ./full-sync-reconcile.ts. Longer than ~300 lines
 * because the page loop, its resumable progress and the cancellation plumbing belong together.
 */
import { Context } from '@temporalio/activity';
import type { AccountAuth, CronofyClient } from '../cronofy/client.js';
import { prefetching } from '../lib/prefetching.js';
import { toCronofyTime } from '../lib/time.js';
import type { Metrics } from '../metrics.js';
import type { AccountInfo } from '../store/accounts-repo.js';
import type { CalendarsRepo } from '../store/calendars-repo.js';
import type { ReconciliationRecord } from '../store/db.js';
import { type DriftCounts, type EventsRepo, noDrift } from '../store/events-repo.js';
import { FullSyncReconciliation } from '../store/full-sync-reconciliation.js';
import type { SyncRunsRepo } from '../store/sync-runs-repo.js';
import type { SyncInput, SyncResult } from '../workflows/messages.js';
import { refreshCalendars } from './calendars.js';
import {
  addDrift,
  ChainCheck,
  disconnectedProfiles,
  type ReconcileOutcome,
  reconcile,
  reportReconciliation,
} from './full-sync-reconcile.js';
import { readParams } from './read-params.js';
import { KEEPALIVE_INTERVAL_MS, type KeepAlive, keepAlive, SyncStalledError } from './sync-keepalive.js';

/** Cronofy's clock and ours may disagree a little; a watermark this far back cannot miss a change. */
export const WATERMARK_SAFETY_MS = 60_000;

/**
 * A full sync's write counts as drift (a correction no incremental sync made) only for a change
 * Cronofy made at least this long before the sync began: a more recent one may still have its
 * notification on the way (delivery retries, the debounce, a sync queued behind this one), and
 * the full sync serves pending notifications itself.
 */
export const DRIFT_GRACE_MS = 5 * 60_000;

interface SyncProgress {
  syncRunId: string;
  startedAt: string;
  nextPageUrl: string | null;
  readDone: boolean;
  pages: number;
  /**
   * Cronofy's `pages.total` of the chain being read. Heartbeated with the rest, so the Temporal Web
   * UI's pending activity shows "pages done of total" while the sync runs.
   */
  pagesTotal?: number | null;
  upserted: number;
  deleted: number;
  unchanged: number;
  /** Full syncs: corrections so far; `null` when they do not count (the account's first full sync). */
  drift?: DriftCounts | null;
  /** The page chain ended before its last page: the window was not read to its end. */
  chainIncomplete?: boolean;
  /** Full syncs: why this one may not tombstone, once known (UserInfo at the start, the chain's end). */
  skipReconciliation?: Pick<ReconciliationRecord, 'reason' | 'disconnectedProfiles' | 'chain'>;
  /** Full syncs: UserInfo was read at the start. */
  profilesChecked?: boolean;
}

export interface SyncDeps {
  events: EventsRepo;
  /**
   * The account's registered calendars now (`null`: all; undefined: no such account). A sync that
   * read calendars the registration no longer has tombstones their events as it ends.
   */
  registeredCalendars?: (accountId: string) => Promise<string[] | null | undefined>;
  syncRuns: SyncRunsRepo;
  /** Refreshed at the start of every fresh full sync (./calendars.ts). */
  calendars: CalendarsRepo;
  metrics?: Metrics;
  now: () => Date;
  /** The attempt's cancellation; default the activity's `Context.current().cancellationSignal`. */
  signal?: AbortSignal;
  /** Heartbeat timer period; default KEEPALIVE_INTERVAL_MS. */
  keepAliveIntervalMs?: number;
}

export async function syncEvents(
  deps: SyncDeps,
  input: SyncInput,
  account: AccountInfo,
  client: CronofyClient,
  auth: AccountAuth,
): Promise<SyncResult> {
  const ctx = Context.current();
  const keep = keepAlive(
    ctx,
    ctx.info.heartbeatDetails as SyncProgress | undefined,
    deps.signal ?? ctx.cancellationSignal,
    deps.keepAliveIntervalMs ?? KEEPALIVE_INTERVAL_MS,
  );
  try {
    return await syncPages(deps, input, account, client.withSignal(keep.signal), auth, ctx, keep);
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
  keep: KeepAlive<SyncProgress>,
): Promise<SyncResult> {
  const resume = ctx.info.heartbeatDetails as SyncProgress | undefined;
  const now = deps.now;
  /** Before every MongoDB write: a cancelled attempt writes nothing more. */
  const stillRunning = () => keep.signal.throwIfAborted();

  let progress: SyncProgress;
  stillRunning();
  // What an earlier attempt wrote but did not get into the change feed (killed in between).
  await deps.events.flushFeed(input.accountId);
  if (resume?.syncRunId) {
    progress = resume;
    await deps.syncRuns.resumed(resume.syncRunId, ctx.info.attempt);
  } else {
    const startedAt = now();
    const params = readParams(input, account, startedAt);
    // Drift is measured against a copy an earlier full sync made whole; the first one builds it.
    const countsDrift =
      input.kind === 'full' && (await deps.syncRuns.hasSucceeded(input.accountId, 'full', startedAt));
    const syncRunId = await deps.syncRuns.start({
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
      attempts: ctx.info.attempt,
    });
    progress = {
      syncRunId,
      startedAt: startedAt.toISOString(),
      nextPageUrl: null,
      readDone: false,
      pages: 0,
      upserted: 0,
      deleted: 0,
      unchanged: 0,
      ...(input.kind === 'full' ? { drift: countsDrift ? noDrift() : null } : {}),
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
          progress.drift ? new Date(startedAt.getTime() - DRIFT_GRACE_MS) : undefined,
        )
      : undefined;
  let reconciled: ReconcileOutcome | undefined;
  try {
    if (input.kind === 'full' && !resume?.syncRunId) {
      // Each full sync, the one at registration included, refreshes the calendars; a resumed
      // attempt did at its start. Calendar documents only: events are left to the read below.
      const r = await refreshCalendars(
        { calendars: deps.calendars, now, stillRunning },
        input.accountId,
        client,
        auth,
      );
      if (r.outcome === 'refused')
        ctx.log.warn('List Calendars refused; calendars not refreshed', { status: r.status });
    }
    if (reconciliation && !progress.profilesChecked) {
      // While a profile is disconnected, Cronofy may leave its events out of the read: they would
      // all look deleted. Read UserInfo first; such a sync writes what it reads and tombstones nothing.
      const disconnected = disconnectedProfiles(await client.userInfo(auth));
      progress = {
        ...progress,
        profilesChecked: true,
        ...(disconnected.length > 0
          ? { skipReconciliation: { reason: 'profile_disconnected', disconnectedProfiles: disconnected } }
          : {}),
      };
      keep.beat(progress);
    }
    if (!progress.readDone) {
      const chain = new ChainCheck(progress.pages);
      const pages = client.readEventsPages(
        auth,
        params,
        progress.nextPageUrl ? { startUrl: progress.nextPageUrl } : {},
      );
      await reconciliation?.loadStoredVersions();
      for await (const page of prefetching(pages)) {
        // The page may have been read (or read ahead) before the attempt was cancelled.
        stillRunning();
        chain.see(page);
        const written = reconciliation
          ? await reconciliation.writePage(page.events, now())
          : await deps.events.writePage(input.accountId, page.events, now());
        progress = {
          ...progress,
          pages: progress.pages + 1,
          pagesTotal: page.pages.total ?? null,
          upserted: progress.upserted + written.upserted,
          deleted: progress.deleted + written.deleted,
          unchanged: progress.unchanged + written.unchanged,
          ...(progress.drift ? { drift: addDrift(progress.drift, written.drift) } : {}),
          nextPageUrl: page.pages.next_page ?? null,
          readDone: !page.pages.next_page,
        };
        keep.beat(progress);
        // For the status's `progress` while the sync runs. Best effort: the page is written and its
        // progress heartbeated; a failed count update must not fail (and repeat) the sync.
        await deps.syncRuns
          .progress(progress.syncRunId, ctx.info.attempt, {
            pages: progress.pages,
            pagesTotal: progress.pagesTotal ?? null,
            upserted: progress.upserted,
            deleted: progress.deleted,
          })
          .catch(() => undefined);
      }
      // A chain that ends before its last page (Cronofy says `current < total`) proves nothing
      // about the pages it did not serve. Not an error: what it read is written and stays, the
      // incremental syncs go on, and the next full sync reconciles. Retrying instead would hold
      // every other sync of the account behind a Cronofy fault that may persist.
      if (!chain.complete) progress = { ...progress, chainIncomplete: true };
      if (reconciliation && !chain.complete && !progress.skipReconciliation) {
        progress = {
          ...progress,
          skipReconciliation: { reason: 'chain_incomplete', chain: chain.describe() },
        };
      }
      progress = { ...progress, readDone: true, nextPageUrl: null };
      keep.beat(progress);
    }

    if (reconciliation) {
      reconciled = await reconcile(
        {
          client,
          auth,
          params,
          recon: reconciliation,
          startedAt,
          marginMs: WATERMARK_SAFETY_MS,
          now,
          stillRunning,
          beat: () => keep.beat(progress),
        },
        progress.skipReconciliation,
      );
      const w = reconciled.written;
      progress = {
        ...progress,
        pages: progress.pages + reconciled.pages,
        upserted: progress.upserted + w.upserted,
        deleted: progress.deleted + w.deleted,
        unchanged: progress.unchanged + w.unchanged,
        ...(progress.drift ? { drift: addDrift(progress.drift, w.drift) } : {}),
      };
      reportReconciliation(deps.metrics, ctx, input.accountId, reconciled.record, progress.drift ?? null);
    }

    const registered = await pruneUnregisteredCalendars(
      deps,
      input.accountId,
      params.calendarIds,
      now,
      stillRunning,
    );

    const finishedAt = now();
    stillRunning();
    await deps.syncRuns.succeeded(progress.syncRunId, {
      finishedAt,
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      pages: progress.pages,
      upserted: progress.upserted,
      deleted: progress.deleted,
      ...(reconciled ? { drift: progress.drift ?? null, reconciliation: reconciled.record } : {}),
    });
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
      registeredCalendarIds: registered === undefined ? account.calendarIds : registered,
      // How far every event was read: not claimed when the chain ended early (the next window-edge
      // read then starts where the last complete one ended).
      ...((input.kind === 'full' || input.kind === 'window_edge') && !progress.chainIncomplete
        ? { readTo: params.to }
        : {}),
    };
  } catch (err) {
    const cancelled = keep.signal.aborted && !(keep.signal.reason instanceof SyncStalledError);
    deps.metrics?.syncs.inc({ kind: input.kind, outcome: cancelled ? 'cancelled' : 'failed' });
    // Only while no later attempt has taken the run over (it sets `attempts` when it resumes): a
    // cancelled attempt may hear of it after its retry started, and must not mark that one failed.
    await deps.syncRuns
      .failed(
        progress.syncRunId,
        {
          error: `${cancelled ? 'cancelled: ' : ''}${err instanceof Error ? err.message : String(err)}`,
          pages: progress.pages,
          upserted: progress.upserted,
          deleted: progress.deleted,
          finishedAt: now(),
        },
        ctx.info.attempt,
      )
      .catch(() => undefined);
    throw err;
  }
}

/**
 * The registration as the sync ends (returned: what the workflow prunes and backfills from; `null`:
 * all calendars; undefined: unknown). If it no longer has a calendar the sync read (a
 * re-registration while it ran, or a filter set where there was none), the events of the other
 * calendars become tombstones now: the pages this sync wrote for them came after the change.
 */
export async function pruneUnregisteredCalendars(
  deps: Pick<SyncDeps, 'events' | 'registeredCalendars'>,
  accountId: string,
  readCalendarIds: readonly string[] | undefined,
  now: () => Date,
  stillRunning: () => void,
): Promise<string[] | null | undefined> {
  if (!deps.registeredCalendars) return undefined;
  const current = await deps.registeredCalendars(accountId);
  if (!current?.length) return current;
  if (!readCalendarIds?.length || readCalendarIds.some((c) => !current.includes(c))) {
    stillRunning();
    await deps.events.tombstoneOtherCalendars(accountId, current, now());
  }
  return current;
}
