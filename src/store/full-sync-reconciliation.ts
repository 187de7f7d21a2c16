/**
 * A full sync's reconciliation of deletions, the MongoDB side. Cronofy's Read Events does not report
 * events that were deleted long ago (or while we were not listening), so a full sync reads the
 * whole window and a stored event it did not see may be gone from Cronofy. This object holds that
 * sync's bookkeeping: the stored versions read once at the start (also the write path's "what is
 * stored" map), which of them the pages showed, the candidates left after the pages, and the
 * final tombstoning. Whether the candidates may be tombstoned at all (a complete page chain,
 * confirmed with Cronofy, not a mass deletion, no profile disconnected) is decided by the
 * activity (src/activities/full-sync-reconcile.ts).
 */
import type { CronofyEvent } from '../cronofy/types.js';
import { fullSyncWindow } from '../cronofy/window.js';
import { DAY_MS } from '../lib/time.js';
import type { EventsRepo, PageWriteResult, StoredVersions } from './events-repo.js';

export class FullSyncReconciliation {
  private known: StoredVersions | undefined;
  /** What this attempt has not seen yet of what was stored when it began. */
  private unseen: Set<string> | undefined;
  /**
   * The range reconciled: the window one day in from each edge, so events straddling an edge
   * (which Cronofy may or may not return) are never tombstoned by mistake.
   */
  readonly from: Date;
  readonly to: Date;

  /**
   * @param startedAt when the sync (its first attempt) started: what it saw is marked with it, and
   *   events written after it are left alone.
   * @param resumedMidRead this attempt resumes a read another attempt began: it did not see the
   *   pages written before, so only the stored marks (`lastSeenFullSyncAt`) can decide.
   * @param driftBefore count the writes correcting changes older than this as drift (undefined:
   *   this sync's writes are not corrections, e.g. the account's first full sync).
   */
  constructor(
    private readonly events: EventsRepo,
    private readonly accountId: string,
    private readonly startedAt: Date,
    private readonly resumedMidRead: boolean,
    private readonly driftBefore?: Date,
  ) {
    const w = fullSyncWindow(startedAt.getTime());
    this.from = new Date(w.fromAt.getTime() + DAY_MS);
    this.to = new Date(w.toAt.getTime() - DAY_MS);
  }

  /** Reads every stored version of the account once, rather than once per page. */
  async loadStoredVersions(): Promise<void> {
    this.known = await this.events.storedVersions(this.accountId);
    this.unseen = new Set(this.known.keys());
  }

  /** Writes a page of Cronofy's current copy (any read of this sync: chain, confirmation, re-read). */
  async writePage(page: readonly CronofyEvent[], syncedAt: Date): Promise<PageWriteResult> {
    if (this.unseen) for (const e of page) this.unseen.delete(e.event_uid);
    return this.events.writePage(this.accountId, page, syncedAt, {
      fullSyncStartedAt: this.startedAt,
      known: this.known,
      ...(this.driftBefore ? { driftBefore: this.driftBefore } : {}),
    });
  }

  /** After the chain: the stored live events in range that it did not show, nor anyone wrote since. */
  async candidates(): Promise<Set<string>> {
    const uids = await this.events.unseenCandidates(
      this.accountId,
      this.from,
      this.to,
      this.startedAt,
      this.unseen && !this.resumedMidRead ? { onlyAmong: [...this.unseen] } : {},
    );
    return new Set(uids);
  }

  /** Live events in range now: what the mass-deletion bound is relative to. */
  liveInRange(): Promise<number> {
    return this.events.countLive(this.accountId, this.from, this.to);
  }

  /** Tombstones these candidates (each only if still unseen and unwritten). Returns how many. */
  tombstone(uids: Iterable<string>, now: Date): Promise<number> {
    return this.events.tombstoneCandidates(
      this.accountId,
      [...uids],
      this.from,
      this.to,
      this.startedAt,
      now,
    );
  }
}
