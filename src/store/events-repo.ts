/**
 * Writes Read Events pages into `events`. One unordered bulkWrite per page, keyed by the natural
 * key { accountId, eventUid }. Every update is conditional on what it replaces, so there is no
 * read-modify-write race and an older `updated` never overwrites a newer one. Also a full sync's
 * reconciliation queries (candidates, tombstones), which share the write path's filters and marks:
 * why this file is longer than ~300 lines.
 *
 * Longer than ~300 lines because it owns the `events` collection: every write and query shape on it
 * (pages, reconciliation candidates, tombstones) lives here, next to the indexes they rely on.
 */
import type { AnyBulkWriteOperation, Collection, Filter } from 'mongodb';
import type { CronofyEvent } from '../cronofy/types.js';
import { duplicateKeyErrorsOnly } from './bulk-write.js';
import { type ChangeFeed, feedMark, type WrittenPage } from './change-feed.js';
import { type EventDoc, toEventDoc } from './event-mapping.js';

export interface PageWriteResult {
  /** Documents inserted or changed. */
  upserted: number;
  /** Of those, how many are now tombstones. */
  deleted: number;
  /** Events whose stored copy was already as new (replays, idempotent re-syncs). */
  unchanged: number;
  /** With `driftBefore`: of the writes, those correcting a change older than it (see DriftCounts). */
  drift?: DriftCounts;
}

/**
 * A full sync's corrections: documents it inserted, changed or tombstoned for a change Cronofy made
 * before `driftBefore`, i.e. one an incremental sync should already have written. Non-zero on a
 * converged account means notifications are being missed (or reads lose events).
 */
export interface DriftCounts {
  inserted: number;
  changed: number;
  tombstoned: number;
}

export const noDrift = (): DriftCounts => ({ inserted: 0, changed: 0, tombstoned: 0 });

export type StoredVersion = Pick<EventDoc, 'updatedAt' | 'contentHash'>;
/** eventUid → the stored version of that event, for one account. */
export type StoredVersions = Map<string, StoredVersion>;

export interface WriteOptions {
  /**
   * Full syncs mark what they saw, so `tombstoneUnseen` can find what Cronofy no longer has, and
   * apply Cronofy's copy even when its `updated` is older than ours (see `shouldApply`).
   */
  fullSyncStartedAt?: Date;
  /**
   * The account's stored versions, read once for the whole sync (`storedVersions`) instead of once
   * per page; `writePage` keeps it current with what it writes. Without it, each page reads the
   * versions of its own events.
   */
  known?: StoredVersions;
  /**
   * Count as drift the writes of events whose Cronofy `updated` is before this (or unknown): a
   * full sync's corrections. More recent changes may still have a notification on its way.
   */
  driftBefore?: Date;
}

/**
 * Decide, for one incoming event against the stored copy, whether to write. Pure.
 *
 * `authoritative` (full syncs): Cronofy's current copy wins whatever its `updated` says. `updated`
 * can go backwards (an undelete, a provider re-import); the ordering guard would then keep the
 * stale copy for good, and the full sync is the repair. The guard stays for incremental reads.
 */
export function shouldApply(
  incoming: Pick<EventDoc, 'updatedAt' | 'contentHash'>,
  stored: Pick<EventDoc, 'updatedAt' | 'contentHash'> | undefined,
  opts: { authoritative?: boolean } = {},
): boolean {
  if (!stored) return true;
  if (stored.contentHash === incoming.contentHash) return false;
  if (opts.authoritative) return true;
  if (incoming.updatedAt === null || stored.updatedAt === null) return true;
  // Same second with different content: Cronofy's `updated` has second precision, so two edits in
  // one second tie. Reads are sequential per account, so the later read is the newer truth.
  return incoming.updatedAt.getTime() >= stored.updatedAt.getTime();
}

/** `contentHash` of a tombstone made by reconciliation: matches no event, so a reappearance applies. */
export const RECONCILED_HASH = 'reconciled-deleted';

/**
 * The `$set` for an incoming event. A live event replaces the stored fields. A tombstone may come
 * stripped of fields (as nulls here): keep what we had, so readers still see what was deleted.
 * Its unknown fields are merged into `extra` rather than replacing it, for the same reason.
 */
export function setForIncoming(doc: EventDoc): Record<string, unknown> {
  if (!doc.deleted) return { ...doc };
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc) as [keyof EventDoc, unknown][]) {
    if (v === null || v === undefined) continue;
    // `allDay` is derived from `start`: without a start it says nothing.
    if (k === 'allDay' && doc.start === null) continue;
    if (k === 'extra') {
      for (const [ek, ev] of Object.entries(v as Record<string, unknown>)) set[`extra.${ek}`] = ev;
      continue;
    }
    set[k] = v;
  }
  return set;
}

/** Above this many candidates `tombstoneUnseen` uses the range filter alone (a huge `$in` costs more). */
const MAX_CANDIDATES = 5_000;

export class EventsRepo {
  /**
   * `feed`: every write marks what it changed for the change feed and then flushes the marks into
   * it (change-feed.ts). Without one (some tests), the marks wait for whoever flushes next.
   */
  constructor(
    private readonly events: Collection<EventDoc>,
    private readonly feed?: Pick<ChangeFeed, 'flush' | 'deleteAccount'>,
  ) {}

  /**
   * Appends the account's marked writes to the change feed: what a write interrupted before its
   * own flush (a worker killed between the two) left behind. Syncs start with it.
   */
  async flushFeed(accountId: string, written?: WrittenPage): Promise<number> {
    return this.feed ? this.feed.flush(accountId, written) : 0;
  }

  async writePage(
    accountId: string,
    page: readonly CronofyEvent[],
    syncedAt: Date,
    opts: WriteOptions = {},
  ): Promise<PageWriteResult> {
    // Cronofy may repeat an event within a page set; the last occurrence wins.
    const byUid = new Map<string, EventDoc>();
    for (const e of page) byUid.set(e.event_uid, toEventDoc(accountId, e, syncedAt));
    if (byUid.size === 0) {
      return { upserted: 0, deleted: 0, unchanged: 0, ...(opts.driftBefore ? { drift: noDrift() } : {}) };
    }

    const uids = [...byUid.keys()];
    const stored = opts.known ?? (await this.storedVersions(accountId, uids));

    const ops: AnyBulkWriteOperation<EventDoc>[] = [];
    // One mark for the page's writes: the change feed appends them after this write (change-feed.ts).
    const mark = feedMark();
    const applied = new Set<string>();
    /** eventUid → the kind of correction its write is, for the events that count as drift. */
    const driftKind = new Map<string, keyof DriftCounts>();
    let deleted = 0;
    for (const doc of byUid.values()) {
      const prev = stored.get(doc.eventUid);
      if (!shouldApply(doc, prev, { authoritative: opts.fullSyncStartedAt !== undefined })) continue;
      applied.add(doc.eventUid);
      if (opts.driftBefore && (doc.updatedAt === null || doc.updatedAt < opts.driftBefore)) {
        driftKind.set(doc.eventUid, doc.deleted ? 'tombstoned' : prev ? 'changed' : 'inserted');
      }
      if (doc.deleted) deleted += 1;
      if (!prev) {
        const inserted: EventDoc = { ...doc, ...mark };
        if (opts.fullSyncStartedAt) inserted.lastSeenFullSyncAt = opts.fullSyncStartedAt;
        ops.push({ insertOne: { document: inserted } });
        continue;
      }
      // Conditional on the version we read: if another writer got there first, this is a no-op
      // rather than a lost update, and the next sync settles it.
      const filter: Filter<EventDoc> = { accountId, eventUid: doc.eventUid, contentHash: prev.contentHash };
      const set = { ...setForIncoming(doc), ...mark };
      ops.push({
        updateOne: {
          filter,
          update: {
            $set: opts.fullSyncStartedAt ? { ...set, lastSeenFullSyncAt: opts.fullSyncStartedAt } : set,
            $unset: { reconciledDeletedAt: '' },
          },
        },
      });
    }

    if (opts.fullSyncStartedAt) {
      // Unchanged events were seen too; mark them so reconciliation leaves them alone.
      const unchangedUids = uids.filter((u) => !applied.has(u));
      if (unchangedUids.length > 0) {
        ops.push({
          updateMany: {
            filter: { accountId, eventUid: { $in: unchangedUids } },
            update: { $set: { lastSeenFullSyncAt: opts.fullSyncStartedAt } },
          },
        });
      }
    }

    let written = applied.size;
    if (ops.length > 0) {
      try {
        await this.events.bulkWrite(ops, { ordered: false });
      } catch (err) {
        // A concurrent insert of the same key (only possible if two writers race on one account)
        // is harmless: the other writer stored this event. Anything else is a real failure.
        const writeErrors = duplicateKeyErrorsOnly(err);
        written -= writeErrors.length;
        // Another writer's version is stored for these: forget ours so the map is not trusted for them.
        for (const we of writeErrors) {
          const op = ops[we.index];
          if (op && 'insertOne' in op) applied.delete((op.insertOne.document as EventDoc).eventUid);
        }
      }
    }
    if (written > 0) {
      await this.flushFeed(accountId, {
        feedToken: mark.feedToken,
        docs: [...applied].map((uid) => byUid.get(uid) as EventDoc),
      });
    }
    if (opts.known) {
      for (const uid of applied) {
        const doc = byUid.get(uid) as EventDoc;
        opts.known.set(uid, { updatedAt: doc.updatedAt, contentHash: doc.contentHash });
      }
    }
    const result: PageWriteResult = { upserted: written, deleted, unchanged: byUid.size - written };
    if (opts.driftBefore) {
      const drift = noDrift();
      for (const [uid, kind] of driftKind) if (applied.has(uid)) drift[kind] += 1;
      result.drift = drift;
    }
    return result;
  }

  /**
   * The stored versions of an account's events (all of them, or those of `uids`). One query: a
   * full sync reads this once rather than once per page, which matters most where the server
   * cannot use the `{accountId, eventUid}` index for it (FerretDB 1.x scans the collection for
   * every filter but a lone `_id`). Tombstones included: a deleted event may come back.
   */
  async storedVersions(accountId: string, uids?: readonly string[]): Promise<StoredVersions> {
    const versions: StoredVersions = new Map();
    const filter: Filter<EventDoc> = uids ? { accountId, eventUid: { $in: [...uids] } } : { accountId };
    for await (const d of this.events.find(filter, {
      projection: { _id: 0, eventUid: 1, updatedAt: 1, contentHash: 1 },
    })) {
      versions.set(d.eventUid, { updatedAt: d.updatedAt, contentHash: d.contentHash });
    }
    return versions;
  }

  /**
   * Calendars removed from the registration: their live events become tombstones (the account no
   * longer syncs them, so they would go stale). Added back later, the backfill restores them.
   */
  async tombstoneOtherCalendars(
    accountId: string,
    keepCalendarIds: readonly string[],
    now: Date,
  ): Promise<number> {
    const res = await this.events.updateMany(
      { accountId, deleted: false, calendarId: { $nin: [...keepCalendarIds] } },
      { $set: tombstoneSet(now) },
    );
    if (res.modifiedCount > 0) await this.flushFeed(accountId);
    return res.modifiedCount;
  }

  /** Purge: every event of the account, tombstones included, and its change feed. */
  async deleteAccount(accountId: string): Promise<number> {
    const n = (await this.events.deleteMany({ accountId })).deletedCount;
    await this.feed?.deleteAccount(accountId);
    return n;
  }

  /**
   * After a full sync of [from, to): every live event in that range the sync did not see is gone
   * from Cronofy, so it becomes a tombstone. Events changed after the sync started are left for
   * the incremental syncs (they may have moved between pages while we read).
   */
  async tombstoneUnseen(
    accountId: string,
    from: Date,
    to: Date,
    fullSyncStartedAt: Date,
    now: Date,
    opts: { onlyAmong?: readonly string[] } = {},
  ): Promise<number> {
    // `onlyAmong`: the sync knows which stored events it did not see (the stored versions it read
    // at the start, minus what the pages held). None left: nothing to tombstone, no query at all
    // (the common weekly full sync of an account where nothing was deleted). A few: only those
    // are candidates, an index lookup instead of a range scan. The filter below still decides.
    if (opts.onlyAmong?.length === 0) return 0;
    const among = opts.onlyAmong && opts.onlyAmong.length <= MAX_CANDIDATES ? opts.onlyAmong : undefined;
    const res = await this.events.updateMany(unseenFilter(accountId, from, to, fullSyncStartedAt, among), {
      $set: tombstoneSet(now),
    });
    if (res.modifiedCount > 0) await this.flushFeed(accountId);
    return res.modifiedCount;
  }

  /**
   * The events `tombstoneUnseen` would tombstone, without touching them: the full sync confirms
   * them with Cronofy first, and refuses a mass deletion.
   */
  async unseenCandidates(
    accountId: string,
    from: Date,
    to: Date,
    fullSyncStartedAt: Date,
    opts: { onlyAmong?: readonly string[] } = {},
  ): Promise<string[]> {
    if (opts.onlyAmong?.length === 0) return [];
    const among = opts.onlyAmong && opts.onlyAmong.length <= MAX_CANDIDATES ? opts.onlyAmong : undefined;
    const uids: string[] = [];
    for await (const d of this.events.find(unseenFilter(accountId, from, to, fullSyncStartedAt, among), {
      projection: { _id: 0, eventUid: 1 },
    })) {
      uids.push(d.eventUid);
    }
    return uids;
  }

  /** Tombstones exactly `uids`, each only if `unseenFilter` still holds for it. */
  async tombstoneCandidates(
    accountId: string,
    uids: readonly string[],
    from: Date,
    to: Date,
    fullSyncStartedAt: Date,
    now: Date,
  ): Promise<number> {
    let n = 0;
    // Batched so no single `$in` grows past MAX_CANDIDATES.
    for (let i = 0; i < uids.length; i += MAX_CANDIDATES) {
      const batch = uids.slice(i, i + MAX_CANDIDATES);
      const res = await this.events.updateMany(unseenFilter(accountId, from, to, fullSyncStartedAt, batch), {
        $set: tombstoneSet(now),
      });
      n += res.modifiedCount;
    }
    if (n > 0) await this.flushFeed(accountId);
    return n;
  }

  /** Live events of the account starting in [from, to): what a mass-deletion bound is relative to. */
  async countLive(accountId: string, from: Date, to: Date): Promise<number> {
    return this.events.countDocuments({ accountId, deleted: false, startAt: { $gte: from, $lt: to } });
  }
}

/**
 * Live events in [from, to) that the full sync started at `fullSyncStartedAt` neither saw nor had
 * written by anyone after it started: what reconciliation takes for gone from Cronofy.
 */
function unseenFilter(
  accountId: string,
  from: Date,
  to: Date,
  fullSyncStartedAt: Date,
  among: readonly string[] | undefined,
): Filter<EventDoc> {
  return {
    accountId,
    ...(among ? { eventUid: { $in: [...among] } } : {}),
    deleted: false,
    startAt: { $gte: from, $lt: to },
    syncedAt: { $lt: fullSyncStartedAt },
    $or: [{ lastSeenFullSyncAt: { $exists: false } }, { lastSeenFullSyncAt: { $lt: fullSyncStartedAt } }],
  };
}

/**
 * A reconciliation tombstone. The hash changes too: should Cronofy return the event again unchanged
 * (a calendar added back to the account's filter, a page it missed), the next read restores it.
 */
function tombstoneSet(now: Date) {
  return {
    deleted: true,
    reconciledDeletedAt: now,
    syncedAt: now,
    contentHash: RECONCILED_HASH,
    ...feedMark(),
  };
}
