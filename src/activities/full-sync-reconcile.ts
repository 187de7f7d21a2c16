/**
 * Full-sync reconciliation, the Cronofy side: a stored event the full sync's page chain did not show
 * is tombstoned only when Cronofy's answers prove it gone. Not seeing it proves nothing when
 * - the chain ended early (`pages.current < pages.total` on its last page): whatever was on the
 *   unread pages looks gone. Then nothing is tombstoned this time; the sync's writes stay.
 * - the event changed while the chain was read: Cronofy's pages are computed live, so an event
 *   moved from a page not yet read to one already read is never shown. A second read, with
 *   `last_modified` = the sync's start, returns every event that changed since: those are written
 *   and are no longer candidates.
 * - anything changed while the chain was read and Cronofy pages by offset (it does not document
 *   how it pages): an event leaving the part already read shifts the rest, and an event that did
 *   not change at all is skipped; the second read cannot show it. So when the second read found
 *   changes, the whole window is read once more and its changes confirmed the same way; candidates
 *   still unseen after a re-read during which nothing changed are gone. If things changed during
 *   the re-read too, nothing is tombstoned this time (`deferred`).
 * - a calendar profile is disconnected: Cronofy may leave its events out of Read Events (the
 *   simulator does; Cronofy does not say). Checked with UserInfo before reading and again before
 *   tombstoning.
 * And a deletion larger than `massDeletionLimit` is withheld: tombstoning many live events by
 * mistake is worse than keeping a few deleted ones a while; an operator decides (docs/operations.md).
 */
import type { Context } from '@temporalio/activity';
import type { AccountAuth, CronofyClient } from '../cronofy/client.js';
import type { CronofyUserInfo, ReadEventsPage, ReadEventsParams } from '../cronofy/types.js';
import { toCronofyTime } from '../lib/time.js';
import type { Metrics } from '../metrics.js';
import type { ReconciliationRecord } from '../store/db.js';
import { type DriftCounts, noDrift, type PageWriteResult } from '../store/events-repo.js';
import type { FullSyncReconciliation } from '../store/full-sync-reconciliation.js';

/** A full sync tombstones at most max(MASS_DELETION_MIN, MASS_DELETION_FRACTION × live events in range). */
export const MASS_DELETION_MIN = 50;
export const MASS_DELETION_FRACTION = 0.1;

export function massDeletionLimit(liveInRange: number): number {
  return Math.max(MASS_DELETION_MIN, Math.ceil(liveInRange * MASS_DELETION_FRACTION));
}

/** Ids of the profiles UserInfo says Cronofy cannot reach (`profile_connected: false`). */
export function disconnectedProfiles(info: CronofyUserInfo): string[] {
  return (info['cronofy.data']?.profiles ?? [])
    .filter((p) => p.profile_connected === false)
    .map((p) => p.profile_id);
}

/**
 * Follows one page chain and tells whether it was complete: its last page says
 * `pages.current === pages.total`, and as many pages were read as that says.
 */
export class ChainCheck {
  private last: ReadEventsPage['pages'] | undefined;
  /** @param pagesRead pages of this chain read before (by an attempt this one resumes). */
  constructor(private pagesRead = 0) {}

  see(page: ReadEventsPage): void {
    this.pagesRead += 1;
    this.last = page.pages;
  }

  get complete(): boolean {
    const last = this.last;
    // No page at all: the chain never answered, which is not a complete read either.
    return last !== undefined && last.current === last.total && this.pagesRead === last.current;
  }

  describe(): NonNullable<ReconciliationRecord['chain']> {
    return { pagesRead: this.pagesRead, current: this.last?.current ?? 0, total: this.last?.total ?? 0 };
  }
}

export interface ReconcileIo {
  client: CronofyClient;
  auth: AccountAuth;
  /** The full sync's Read Events parameters (the window). */
  params: ReadEventsParams;
  recon: FullSyncReconciliation;
  startedAt: Date;
  /** How far before a read's start its confirming read begins (clocks may disagree). */
  marginMs: number;
  now: () => Date;
  /** Throws once the attempt is cancelled: called before every write. */
  stillRunning: () => void;
  /** Progress was made (a page written): heartbeat. */
  beat: () => void;
}

export interface ReconcileOutcome {
  record: ReconciliationRecord;
  /** What the extra reads wrote, and the tombstones, to add to the sync's counts. */
  pages: number;
  written: PageWriteResult & { drift: DriftCounts };
}

/** How many times the window may be re-read to settle a chain during which events changed. */
const MAX_REREADS = 1;

export async function reconcile(
  io: ReconcileIo,
  skip?: Pick<ReconciliationRecord, 'reason' | 'disconnectedProfiles' | 'chain'>,
): Promise<ReconcileOutcome> {
  const written = { upserted: 0, deleted: 0, unchanged: 0, drift: noDrift() };
  let pages = 0;
  const record: ReconciliationRecord = {
    outcome: 'tombstoned',
    candidates: 0,
    confirmedChanged: 0,
    seenOnReread: 0,
    tombstoned: 0,
    kept: 0,
  };
  const done = (patch: Partial<ReconciliationRecord> = {}): ReconcileOutcome => ({
    record: { ...record, ...patch },
    pages,
    written,
  });
  if (skip) return done({ outcome: 'skipped', ...skip });

  const candidates = await io.recon.candidates();
  record.candidates = candidates.size;
  // The common weekly case: every stored event was seen. No extra read.
  if (candidates.size === 0) return done();

  /** Reads a chain, writes every page, drops what it shows from the candidates. */
  const read = async (params: ReadEventsParams, onEvent: (uid: string, updated: unknown) => void) => {
    const chain = new ChainCheck();
    for await (const page of io.client.readEventsPages(io.auth, params)) {
      chain.see(page);
      pages += 1;
      io.stillRunning();
      const w = await io.recon.writePage(page.events, io.now());
      written.upserted += w.upserted;
      written.deleted += w.deleted;
      written.unchanged += w.unchanged;
      for (const k of ['inserted', 'changed', 'tombstoned'] as const) written.drift[k] += w.drift?.[k] ?? 0;
      for (const e of page.events) onEvent(e.event_uid, e.updated);
      io.beat();
    }
    return chain;
  };

  /** eventUid → `updated` of every change a confirming read returned. */
  const changes = new Map<string, unknown>();
  let since = new Date(io.startedAt.getTime() - io.marginMs);
  for (let rereads = 0; ; rereads++) {
    // Everything that changed since the last chain began (with include_moved and include_deleted,
    // as every sync read): written, and proven not gone.
    let changedNow = 0;
    const confirm = await read({ ...io.params, lastModified: toCronofyTime(since.getTime()) }, (uid, upd) => {
      if (changes.get(uid) !== upd) changedNow += 1;
      changes.set(uid, upd);
      if (candidates.delete(uid)) record.confirmedChanged += 1;
    });
    if (!confirm.complete)
      return done({ outcome: 'skipped', reason: 'chain_incomplete', chain: confirm.describe() });
    if (candidates.size === 0) return done();
    // Nothing changed that the previous reads had not already shown: that chain saw a still calendar.
    if (changedNow === 0) break;
    if (rereads >= MAX_REREADS) {
      return done({ outcome: 'deferred', reason: 'changing_during_read', kept: candidates.size });
    }
    since = new Date(io.now().getTime() - io.marginMs);
    const reread = await read(io.params, (uid) => {
      if (candidates.delete(uid)) record.seenOnReread += 1;
    });
    if (!reread.complete)
      return done({ outcome: 'skipped', reason: 'chain_incomplete', chain: reread.describe() });
    if (candidates.size === 0) return done();
  }

  if (candidates.size > MASS_DELETION_MIN) {
    const limit = massDeletionLimit(await io.recon.liveInRange());
    if (candidates.size > limit) {
      return done({ outcome: 'withheld', reason: 'mass_deletion', kept: candidates.size, limit });
    }
  }
  // A profile that disconnected while we read hides its events just the same.
  const disconnected = disconnectedProfiles(await io.client.userInfo(io.auth));
  if (disconnected.length > 0) {
    return done({
      outcome: 'skipped',
      reason: 'profile_disconnected',
      disconnectedProfiles: disconnected,
      kept: candidates.size,
    });
  }
  io.stillRunning();
  const tombstoned = await io.recon.tombstone(candidates, io.now());
  written.upserted += tombstoned;
  written.deleted += tombstoned;
  written.drift.tombstoned += tombstoned;
  return done({ tombstoned });
}

export function addDrift(a: DriftCounts, b: DriftCounts | undefined): DriftCounts {
  if (!b) return a;
  return {
    inserted: a.inserted + b.inserted,
    changed: a.changed + b.changed,
    tombstoned: a.tombstoned + b.tombstoned,
  };
}

/** Metrics and a log line for a full sync's reconciliation; a warning when an operator should look. */
export function reportReconciliation(
  metrics: Metrics | undefined,
  ctx: Context,
  accountId: string,
  record: ReconciliationRecord,
  drift: DriftCounts | null,
): void {
  metrics?.reconciliations.inc({ outcome: record.outcome, reason: record.reason ?? '' });
  if (drift) for (const [kind, n] of Object.entries(drift)) metrics?.drift.inc({ kind }, n);
  const fields = { accountId, ...record, drift };
  if (record.outcome === 'withheld') {
    ctx.log.warn('full sync withheld a mass deletion: see docs/operations.md', fields);
  } else if (record.reason === 'chain_incomplete') {
    ctx.log.warn('full sync read an incomplete page chain: nothing tombstoned', fields);
  } else if (record.outcome !== 'tombstoned') {
    ctx.log.info('full sync tombstoned nothing', fields);
  }
}
