/**
 * The change feed: per account, every change to `events` as an entry with a sequence number
 * (`changes` collection), read by `GET /accounts/:accountId/changes` and by webhook delivery.
 *
 * Without multi-document transactions (FerretDB has none) an event write and its feed entry cannot
 * commit together. So a write only *marks* the event document (`feedPending`, with a fresh random
 * `feedToken`, in the same single-document update as the change), and `flush` turns marks into
 * entries afterwards. A crash between the two leaves the mark; the next flush of the account (every
 * page write and every sync starts with one) appends the entry. Nothing written is ever left out.
 *
 * Why `seq` has no gaps a reader could fall into: an entry is inserted with `seq = last + 1`, where
 * `last` is the highest seq the appender could *see*, under a unique index on `{accountId, seq}`.
 * Two appenders racing for the same seq: one insert fails with a duplicate key and retries above
 * the winner. So seq N+1 is only ever inserted after seq N was visible, and a reader that sees N+1
 * already sees everything below it: following the feed from any cursor misses nothing, even while
 * a page of entries is being written.
 *
 * Why the feed ends at each event's latest version: an entry snapshots the event as stored when
 * the flush reads it, and the mark is cleared only if the token is still the one read (no write
 * since). A flush that finds the token changed re-marks the event, because its own entry may have
 * landed after a newer one; the next flush appends the current version after it. So the last entry
 * of every event is its current document; a consumer applying entries in seq order ends holding
 * exactly what `events` holds.
 *
 * Retention (`prune`): entries older than the retention are removed when superseded by a later
 * entry of the same event (no one needs them: the later one carries the newer version), and so are
 * deletions, with their tombstones in `events`. The latest entry of a live event is never pruned,
 * so reading from the beginning always yields every live event. A reader whose cursor is below the
 * highest pruned seq (`feed_heads.prunedThrough`) might have missed a deletion: it gets
 * `CursorExpiredError` (HTTP 410) and must start again from the beginning.
 */
import { randomBytes } from 'node:crypto';
import type { AnyBulkWriteOperation, Collection, WriteError } from 'mongodb';
import type { Metrics } from '../metrics.js';
import { duplicateKeyErrorsOnly } from './bulk-write.js';
import { InvalidCursorError } from './cursor.js';
import type { EventDoc } from './event-mapping.js';
import { type PublicEvent, publicEvent } from './events-query.js';

export type ChangeOp = 'upsert' | 'delete';

/** One entry of the feed, as readers get it. */
export interface FeedChange {
  seq: number;
  op: ChangeOp;
  eventUid: string;
  calendarId: string;
  /** The event as `GET /accounts/:accountId/events` returns it (a tombstone for `delete`). */
  event: PublicEvent;
  /** When our copy changed (the event's `syncedAt`). */
  changedAt: Date;
}

export interface ChangeDoc extends FeedChange {
  accountId: string;
}

/** Per account: the highest seq retention removed (cursors below it answer 410), and the flush lease. */
export interface FeedHeadDoc {
  _id: string; // accountId
  prunedThrough?: number;
  /** A flush of the account runs until then (see `flush`); absent when none does. */
  flushingUntil?: Date;
  flusher?: string;
}

export interface FeedPage {
  changes: FeedChange[];
  /** Pass as `after` to continue; equals the `after` given when there was nothing new. */
  nextCursor: string;
  /** More entries exist after `nextCursor` right now. */
  hasMore: boolean;
}

export class CursorExpiredError extends Error {
  override name = 'CursorExpiredError';
}

export const DEFAULT_CHANGES_LIMIT = 100;
export const MAX_CHANGES_LIMIT = 1000;
/** Marks flushed per round: one read, one append, one clear. */
const FLUSH_BATCH = 500;
/**
 * Rounds per flush call. A flush that keeps finding marks (another writer keeps writing) stops
 * here: that writer flushes its own marks, and the next flush of the account takes the rest.
 */
const FLUSH_MAX_ROUNDS = 20;
/**
 * One flush per account at a time. Not for correctness (the token protocol holds without it) but
 * for progress: concurrent flushers of the same marks keep invalidating each other's tokens and
 * re-marking, appending the same events over and over. A flusher that died holding the lease
 * holds up the account's next flush this long at most.
 */
const FLUSH_LEASE_MS = 10_000;
const FLUSH_LEASE_POLL_MS = 25;

/** The `$set` fields that mark an event write for the feed: one token per write. */
export function feedMark(): { feedPending: true; feedToken: string } {
  return { feedPending: true, feedToken: randomBytes(9).toString('base64url') };
}

/** Cursors are the decimal seq of the last entry read; "0" (or none) is the beginning. */
export function parseFeedCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  if (!/^\d{1,15}$/.test(cursor)) throw new InvalidCursorError('cursor is malformed');
  return Number(cursor);
}

export function clampChangesLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_CHANGES_LIMIT;
  return Math.min(MAX_CHANGES_LIMIT, Math.max(1, Math.trunc(limit)));
}

export function changeOf(doc: EventDoc): Omit<ChangeDoc, 'seq'> {
  return {
    accountId: doc.accountId,
    op: doc.deleted ? 'delete' : 'upsert',
    eventUid: doc.eventUid,
    calendarId: doc.calendarId,
    event: publicEvent(doc),
    changedAt: doc.syncedAt,
  };
}

/**
 * Of the entries older than the cutoff, those retention removes: superseded by a later entry of
 * the same event, or a deletion that is the event's last entry. Never the account's newest entry
 * (its seq is where the next append continues). Pure.
 */
export function prunable(
  old: readonly Pick<ChangeDoc, 'seq' | 'op' | 'eventUid'>[],
  latestSeqOf: ReadonlyMap<string, number>,
  newestSeq: number,
): { superseded: number[]; deletions: { seq: number; eventUid: string }[] } {
  const superseded: number[] = [];
  const deletions: { seq: number; eventUid: string }[] = [];
  for (const c of old) {
    if (c.seq === newestSeq) continue;
    const latest = latestSeqOf.get(c.eventUid) ?? c.seq;
    if (latest > c.seq) superseded.push(c.seq);
    else if (c.op === 'delete') deletions.push({ seq: c.seq, eventUid: c.eventUid });
  }
  return { superseded, deletions };
}

export interface ChangeFeedOptions {
  /** Called after a flush appended entries: webhook delivery wakes up here. Errors are the caller's. */
  onAppended?: (accountId: string, lastSeq: number) => Promise<void> | void;
  metrics?: Pick<Metrics, 'feedAppended' | 'feedFlushDuration' | 'feedPruned'>;
}

export interface FeedCollections {
  changes: Collection<ChangeDoc>;
  feedHeads: Collection<FeedHeadDoc>;
  events: Collection<EventDoc>;
}

export class ChangeFeed {
  constructor(
    private readonly c: FeedCollections,
    private readonly opts: ChangeFeedOptions = {},
  ) {}

  /**
   * One page after `after` (undefined: from the beginning). Throws CursorExpiredError when
   * retention may have removed a deletion after `after`.
   */
  async read(accountId: string, after: string | undefined, limit?: number): Promise<FeedPage> {
    const afterSeq = parseFeedCursor(after);
    const n = clampChangesLimit(limit);
    const docs = await this.c.changes
      .find({ accountId, seq: { $gt: afterSeq } }, { projection: { _id: 0, accountId: 0 } })
      .sort({ seq: 1 })
      .limit(n + 1)
      .toArray();
    // Checked after the read: `prune` raises the head before it deletes, so a deletion that
    // affected this read is always seen here.
    if (after !== undefined && afterSeq > 0) {
      const prunedThrough = (await this.c.feedHeads.findOne({ _id: accountId }))?.prunedThrough ?? 0;
      if (afterSeq < prunedThrough) {
        throw new CursorExpiredError(
          `cursor ${after} is older than the feed's retention (changes up to ${prunedThrough} were pruned): start again from the beginning (no cursor)`,
        );
      }
    }
    const hasMore = docs.length > n;
    const changes = (hasMore ? docs.slice(0, n) : docs) as FeedChange[];
    const last = changes[changes.length - 1];
    return { changes, nextCursor: String(last ? last.seq : afterSeq), hasMore };
  }

  /** The account's highest seq so far (0: none yet). */
  async lastSeq(accountId: string): Promise<number> {
    const [top] = await this.c.changes
      .find({ accountId }, { projection: { _id: 0, seq: 1 } })
      .sort({ seq: -1 })
      .limit(1)
      .toArray();
    const head = await this.c.feedHeads.findOne({ _id: accountId });
    return Math.max(top?.seq ?? 0, head?.prunedThrough ?? 0);
  }

  /**
   * Turns the account's marked event writes into feed entries (see the header). Returns how many
   * entries it appended. Safe to run concurrently with writes and with other flushes.
   */
  async flush(accountId: string): Promise<number> {
    const owner = randomBytes(6).toString('base64url');
    const timer = this.opts.metrics?.feedFlushDuration.startTimer();
    await this.lease(accountId, owner);
    try {
      const n = await this.flushMarks(accountId);
      this.opts.metrics?.feedAppended.inc(n);
      return n;
    } finally {
      timer?.();
      await this.c.feedHeads.updateOne(
        { _id: accountId, flusher: owner },
        { $unset: { flushingUntil: '', flusher: '' } },
      );
    }
  }

  /**
   * Waits for the account's flush lease. Not skipped when another flush holds it: that one may
   * already have made its last check for marks, and ours would then wait for the next flush.
   */
  private async lease(accountId: string, owner: string): Promise<void> {
    for (;;) {
      const now = new Date();
      try {
        await this.c.feedHeads.updateOne(
          { _id: accountId, $or: [{ flushingUntil: { $exists: false } }, { flushingUntil: { $lt: now } }] },
          { $set: { flushingUntil: new Date(now.getTime() + FLUSH_LEASE_MS), flusher: owner } },
          { upsert: true },
        );
        return;
      } catch (err) {
        // The head exists and the lease is held: the upsert's insert hit the `_id`.
        if ((err as { code?: number }).code !== 11000) throw err;
      }
      await new Promise((r) => setTimeout(r, FLUSH_LEASE_POLL_MS));
    }
  }

  private async flushMarks(accountId: string): Promise<number> {
    let appended = 0;
    let lastSeq = 0;
    for (let round = 0; round < FLUSH_MAX_ROUNDS; round++) {
      const docs = await this.c.events.find({ accountId, feedPending: true }).limit(FLUSH_BATCH).toArray();
      if (docs.length === 0) break;
      // Write order, as far as the documents tell it.
      docs.sort((a, b) => a.syncedAt.getTime() - b.syncedAt.getTime() || cmp(a.eventUid, b.eventUid));
      const seqs = await this.append(
        accountId,
        docs.map((d) => changeOf(d)),
      );
      appended += seqs.length;
      lastSeq = seqs[seqs.length - 1] ?? lastSeq;
      await this.clearMarks(accountId, docs, seqs);
      if (docs.length < FLUSH_BATCH) {
        // Marks re-set by clearMarks (or by writers meanwhile) are taken by the next round.
        const more = await this.c.events.countDocuments({ accountId, feedPending: true }, { limit: 1 });
        if (more === 0) break;
      }
    }
    if (appended > 0) await this.opts.onAppended?.(accountId, lastSeq);
    return appended;
  }

  /**
   * Appends entries at the end of the account's feed, in order; returns their seqs. Each insert
   * takes `last + 1`; a duplicate key means another appender took it, so the rest go above it.
   */
  async append(accountId: string, entries: readonly Omit<ChangeDoc, 'seq'>[]): Promise<number[]> {
    const seqs: number[] = [];
    let i = 0;
    while (i < entries.length) {
      const base = await this.lastSeq(accountId);
      const batch: ChangeDoc[] = entries.slice(i).map((e, k) => ({ ...e, seq: base + 1 + k }));
      try {
        await this.c.changes.insertMany(batch, { ordered: true });
        for (const b of batch) seqs.push(b.seq);
        i = entries.length;
      } catch (err) {
        // Ordered: the insert stopped at the first error, a duplicate key (anything else rethrows).
        const first = duplicateKeyErrorsOnly(err)[0] as WriteError;
        // Ordered: everything before the failed one went in.
        for (const b of batch.slice(0, first.index)) seqs.push(b.seq);
        i += first.index;
      }
    }
    return seqs;
  }

  /**
   * Clears the marks whose token is unchanged since `docs` were read. An event written again since
   * keeps (or gets back) a mark with a new token, so a later flush appends its current version
   * after the entry just appended, which may be stale.
   */
  private async clearMarks(accountId: string, docs: readonly EventDoc[], seqs: readonly number[]) {
    // By the natural key, like every other write to `events` (the `account_event_uid` index).
    const ops: AnyBulkWriteOperation<EventDoc>[] = docs.map((d, i) => ({
      updateOne: {
        filter: { accountId, eventUid: d.eventUid, feedToken: d.feedToken },
        update: { $unset: { feedPending: '', feedToken: '' }, $set: { feedSeq: seqs[i] as number } },
      },
    }));
    const res = await this.c.events.bulkWrite(ops, { ordered: false });
    if (res.matchedCount === docs.length) return;
    const uids = docs.map((d) => d.eventUid);
    const now = await this.c.events
      .find({ accountId, eventUid: { $in: uids } }, { projection: { _id: 0, eventUid: 1, feedSeq: 1 } })
      .toArray();
    const seqOf = new Map(docs.map((d, i) => [d.eventUid, seqs[i]]));
    const stale = now.filter((d) => d.feedSeq !== seqOf.get(d.eventUid)).map((d) => d.eventUid);
    if (stale.length > 0) {
      await this.c.events.updateMany({ accountId, eventUid: { $in: stale } }, { $set: feedMark() });
    }
  }

  /**
   * Retention for one account: removes what `prunable` allows among entries changed before
   * `cutoff`, and the tombstones of pruned deletions. Returns how many entries went.
   */
  async prune(accountId: string, cutoff: Date): Promise<{ entries: number; tombstones: number }> {
    const old = await this.c.changes
      .find({ accountId, changedAt: { $lt: cutoff } }, { projection: { _id: 0, seq: 1, op: 1, eventUid: 1 } })
      .toArray();
    if (old.length === 0) return { entries: 0, tombstones: 0 };
    const uids = [...new Set(old.map((c) => c.eventUid))];
    const latestSeqOf = new Map<string, number>();
    for await (const c of this.c.changes.find(
      { accountId, eventUid: { $in: uids } },
      { projection: { _id: 0, seq: 1, eventUid: 1 } },
    )) {
      latestSeqOf.set(c.eventUid, Math.max(latestSeqOf.get(c.eventUid) ?? 0, c.seq));
    }
    const newest = await this.lastSeq(accountId);
    const { superseded, deletions } = prunable(old, latestSeqOf, newest);
    const seqs = [...superseded, ...deletions.map((d) => d.seq)];
    if (seqs.length === 0) return { entries: 0, tombstones: 0 };
    // The head first: a reader that could miss one of these sees it raised (see `read`).
    await this.c.feedHeads.updateOne(
      { _id: accountId },
      { $max: { prunedThrough: Math.max(...seqs) } },
      { upsert: true },
    );
    let tombstones = 0;
    if (deletions.length > 0) {
      // Only a tombstone still as that entry shows it: not written again, not pending.
      const res = await this.c.events.bulkWrite(
        deletions.map((d) => ({
          deleteOne: {
            filter: {
              accountId,
              eventUid: d.eventUid,
              deleted: true,
              feedSeq: d.seq,
              feedPending: { $ne: true },
            },
          },
        })),
        { ordered: false },
      );
      tombstones = res.deletedCount;
    }
    const res = await this.c.changes.deleteMany({ accountId, seq: { $in: seqs } });
    this.opts.metrics?.feedPruned.inc({ kind: 'superseded' }, superseded.length);
    this.opts.metrics?.feedPruned.inc({ kind: 'deletion' }, deletions.length);
    return { entries: res.deletedCount, tombstones };
  }

  /** Retention for every account with entries older than `cutoff`. */
  async pruneAll(cutoff: Date): Promise<{ accounts: number; entries: number; tombstones: number }> {
    const ids = (await this.c.changes.distinct('accountId', { changedAt: { $lt: cutoff } })) as string[];
    const total = { accounts: ids.length, entries: 0, tombstones: 0 };
    for (const id of ids) {
      const r = await this.prune(id, cutoff);
      total.entries += r.entries;
      total.tombstones += r.tombstones;
    }
    return total;
  }

  /** Purge of an account: its entries go; the head keeps the last seq so old cursors answer 410. */
  async deleteAccount(accountId: string): Promise<number> {
    const last = await this.lastSeq(accountId);
    if (last > 0) {
      await this.c.feedHeads.updateOne(
        { _id: accountId },
        { $max: { prunedThrough: last } },
        { upsert: true },
      );
    }
    return (await this.c.changes.deleteMany({ accountId })).deletedCount;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
