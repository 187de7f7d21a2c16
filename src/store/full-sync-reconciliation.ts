/**
 * A full sync's reconciliation of deletions, in one place. Cronofy's Read Events does not report
 * events that were deleted long ago (or while we were not listening), so a full sync reads the
 * whole window and whatever stored event it did not see is gone from Cronofy: it becomes a
 * tombstone. This object holds that sync's bookkeeping: the stored versions read once at the start
 * (also the write path's "what is stored" map), which of them the pages showed, and the final
 * tombstoning.
 */
import type { CronofyEvent } from '../cronofy/types.js';
import { fullSyncWindow } from '../cronofy/window.js';
import { DAY_MS } from '../lib/time.js';
import type { EventsRepo, PageWriteResult, StoredVersions } from './events-repo.js';

export class FullSyncReconciliation {
  private known: StoredVersions | undefined;
  /** What this attempt has not seen yet of what was stored when it began: the candidates. */
  private unseen: Set<string> | undefined;

  /**
   * @param startedAt when the sync (its first attempt) started: what it saw is marked with it, and
   *   events written after it are left alone.
   * @param resumedMidRead this attempt resumes a read another attempt began: it did not see the
   *   pages written before, so only the stored marks (`lastSeenFullSyncAt`) can decide.
   */
  constructor(
    private readonly events: EventsRepo,
    private readonly accountId: string,
    private readonly startedAt: Date,
    private readonly resumedMidRead: boolean,
  ) {}

  /** Reads every stored version of the account once, rather than once per page. */
  async loadStoredVersions(): Promise<void> {
    this.known = await this.events.storedVersions(this.accountId);
    this.unseen = new Set(this.known.keys());
  }

  async writePage(page: readonly CronofyEvent[], syncedAt: Date): Promise<PageWriteResult> {
    if (this.unseen) for (const e of page) this.unseen.delete(e.event_uid);
    return this.events.writePage(this.accountId, page, syncedAt, {
      fullSyncStartedAt: this.startedAt,
      known: this.known,
    });
  }

  /**
   * After the last page: tombstones what was not seen inside the window, one day in from each edge
   * so events straddling an edge (which Cronofy may or may not return) are never tombstoned by
   * mistake. Returns how many.
   */
  async finish(now: Date): Promise<number> {
    const w = fullSyncWindow(this.startedAt.getTime());
    return this.events.tombstoneUnseen(
      this.accountId,
      new Date(w.fromAt.getTime() + DAY_MS),
      new Date(w.toAt.getTime() - DAY_MS),
      this.startedAt,
      now,
      this.unseen && !this.resumedMidRead ? { onlyAmong: [...this.unseen] } : {},
    );
  }
}
