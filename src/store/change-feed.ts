/**
 * The change feed: per account, an entry with a sequence number for every change to `events`
 * (`changes` collection), read by `GET /accounts/:accountId/changes` and by webhook delivery.
 * An entry names the event; a read returns each named event as `events` holds it then.
 *
 * Without multi-document transactions (FerretDB has none) an event write and its entry cannot
 * commit together. So a write only *marks* the event document (`feedState: 'pending'` and a random
 * `feedToken`, in the same single-document update as the change), and `flush` turns marks into
 * entries afterwards. A crash between the two leaves the mark; the next flush of the account
 * (every page write and every sync starts with one) appends the entry. Nothing is left out.
 *
 * Why `seq` has no gaps a reader could fall into: an entry is inserted at `last + 1` under a
 * unique index on `{accountId, seq}`. Two appenders racing for the same seq: one insert fails
 * with a duplicate key and goes on above the winner. So seq N+1 is only ever inserted after seq N
 * was visible, and a reader that sees N+1 already sees everything below it.
 *
 * Why a consumer ends holding exactly what `events` holds: every write is followed by an entry
 * appended after it landed (the flush reads the write's mark, then appends; it clears the mark
 * only if its token is still the one it read, so a write that came in between keeps its own mark
 * for the next flush). A reader that reaches that entry reads the event after the write: the last
 * entry of every event shows its current document.
 *
 * Retention (`prune`): entries older than the retention are removed when a later entry names the
 * same event (it shows the event as current anyway), and so are deletions, together with their
 * tombstones in `events`. The latest entry of a live event is never pruned, so reading from the
 * beginning yields every live event. A cursor below the highest pruned seq
 * (`feed_heads.prunedThrough`) may have missed a deletion: CursorExpiredError (HTTP 410).
 */
import { randomBytes } from 'node:crypto';
import type { Collection, UpdateFilter, WriteError } from 'mongodb';
import type { Metrics } from '../metrics.js';
import { duplicateKeyErrorsOnly } from './bulk-write.js';
import { InvalidCursorError } from './cursor.js';
import type { EventDoc } from './event-mapping.js';
import { PUBLIC_EVENT_PROJECTION, type PublicEvent } from './events-query.js';

export type ChangeOp = 'upsert' | 'delete';

/** One entry of the feed, as readers get it. */
export interface FeedChange {
  seq: number;
  op: ChangeOp;
  eventUid: string;
  calendarId: string;
  /** The event as `GET /accounts/:accountId/events` returns it now (a tombstone for `delete`). */
  event: PublicEvent;
  /** When our copy changed (the event's `syncedAt` as this entry was appended). */
  changedAt: Date;
}

/** A stored entry: which event changed, when, and how (the event itself is read from `events`). */
export interface ChangeDoc {
  accountId: string;
  seq: number;
  /** What the change was when it was written; readers get the op of the event as it is now. */
  op: ChangeOp;
  eventUid: string;
  calendarId: string;
  changedAt: Date;
}

/** Per account: the highest seq retention removed (cursors below it answer 410), and the flush lease. */
export interface FeedHeadDoc {
  _id: string; // accountId
  prunedThrough?: number;
  /**
   * The highest seq appended, as far as appenders have recorded it: where the next append tries
   * first. Never above the truth (set after the entries are in); a stale one costs a duplicate key.
   */
  lastSeq?: number;
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

/**
 * `feedState` on an event document: `pending` from a write until a flush appended its entry,
 * then `fed`; absent only on documents written before the feed existed.
 *
 * The `$set` fields that mark an event write for the feed: one token per write operation (a page's
 * documents share it). The mark is a string, not a boolean: FerretDB, the tests' server, hands
 * string equality to SQLite's index.
 */
export function feedMark(): { feedState: 'pending'; feedToken: string } {
  return { feedState: 'pending', feedToken: randomBytes(9).toString('base64url') };
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

export function entryOf(
  doc: Pick<EventDoc, 'accountId' | 'eventUid' | 'calendarId' | 'deleted' | 'syncedAt'>,
): Omit<ChangeDoc, 'seq'> {
  return {
    accountId: doc.accountId,
    op: doc.deleted ? 'delete' : 'upsert',
    eventUid: doc.eventUid,
    calendarId: doc.calendarId,
    changedAt: doc.syncedAt,
  };
}

/**
 * A page of entries as readers get it: each with its event as stored now (`stored`, by uid). An
 * entry whose event is gone (purged, or a pruned tombstone) is left out. Pure.
 */
export function joinEntries(
  entries: readonly ChangeDoc[],
  stored: ReadonlyMap<string, PublicEvent>,
): FeedChange[] {
  const out: FeedChange[] = [];
  for (const e of entries) {
    const event = stored.get(e.eventUid);
    if (!event) continue;
    out.push({
      seq: e.seq,
      op: event.deleted ? 'delete' : 'upsert',
      eventUid: e.eventUid,
      calendarId: event.calendarId,
      event,
      changedAt: e.changedAt,
    });
  }
  return out;
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

/** A page just written under one mark: the documents as the writer sent them. */
export interface WrittenPage {
  feedToken: string;
  docs: readonly Pick<EventDoc, 'accountId' | 'eventUid' | 'calendarId' | 'deleted' | 'syncedAt'>[];
}

function writtenMarks(w: WrittenPage) {
  return w.docs.map((d) => ({ ...d, feedToken: w.feedToken }));
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
      .find({ accountId, seq: { $gt: afterSeq } }, { projection: { _id: 0 } })
      .sort({ seq: 1 })
      .limit(n + 1)
      .toArray();
    const hasMore = docs.length > n;
    const entries = hasMore ? docs.slice(0, n) : docs;
    const stored = await this.storedEvents(accountId, entries);
    // Checked after the reads: `prune` raises the head before it deletes, so a deletion that
    // affected these reads is always seen here.
    if (after !== undefined && afterSeq > 0) {
      const prunedThrough = (await this.c.feedHeads.findOne({ _id: accountId }))?.prunedThrough ?? 0;
      if (afterSeq < prunedThrough) {
        throw new CursorExpiredError(
          `cursor ${after} is older than the feed's retention (changes up to ${prunedThrough} were pruned): start again from the beginning (no cursor)`,
        );
      }
    }
    const last = entries[entries.length - 1];
    return { changes: joinEntries(entries, stored), nextCursor: String(last ? last.seq : afterSeq), hasMore };
  }

  /** The events the entries name, as readers see them, by uid. */
  private async storedEvents(accountId: string, entries: readonly ChangeDoc[]) {
    const uids = [...new Set(entries.map((e) => e.eventUid))];
    const stored = new Map<string, PublicEvent>();
    // In slices: FerretDB hands SQLite an `$in` of up to 500 values.
    for (let i = 0; i < uids.length; i += 500) {
      const docs = await this.c.events
        .find(
          { accountId, eventUid: { $in: uids.slice(i, i + 500) } },
          { projection: PUBLIC_EVENT_PROJECTION },
        )
        .toArray();
      for (const d of docs as PublicEvent[]) stored.set(d.eventUid, d);
    }
    return stored;
  }

  /** The account's highest seq so far (0: none yet), from the entries themselves. */
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
   *
   * `written`: what the caller has just written with one mark (a page): its entries are appended
   * without reading the documents back first. An entry for a write that did not apply (another
   * writer's conditional update won) is harmless: a read shows the event as it is.
   */
  async flush(accountId: string, written?: WrittenPage): Promise<number> {
    const owner = randomBytes(6).toString('base64url');
    const timer = this.opts.metrics?.feedFlushDuration.startTimer();
    await this.lease(accountId, owner);
    try {
      const n = await this.flushMarks(accountId, written);
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

  private async flushMarks(accountId: string, written?: WrittenPage): Promise<number> {
    let appended = 0;
    let lastSeq = 0;
    for (let round = 0; round < FLUSH_MAX_ROUNDS; round++) {
      const marked =
        written && round === 0
          ? writtenMarks(written)
          : await this.c.events
              .find(
                { accountId, feedState: 'pending' },
                {
                  projection: {
                    _id: 0,
                    accountId: 1,
                    eventUid: 1,
                    calendarId: 1,
                    deleted: 1,
                    syncedAt: 1,
                    feedToken: 1,
                  },
                },
              )
              .limit(FLUSH_BATCH)
              .toArray();
      if (marked.length === 0) break;
      // Write order, as far as the documents tell it.
      marked.sort((a, b) => a.syncedAt.getTime() - b.syncedAt.getTime() || cmp(a.eventUid, b.eventUid));
      const seqs = await this.append(
        accountId,
        marked.map((d) => entryOf(d)),
      );
      appended += seqs.length;
      lastSeq = seqs[seqs.length - 1] ?? lastSeq;
      await this.clearMarks(accountId, marked);
      if (marked.length < FLUSH_BATCH) {
        // Writes that came in meanwhile (their marks survived the clear) are taken by the next round.
        // A find, not countDocuments: FerretDB runs a count as an aggregation, which scans.
        const more = await this.c.events.findOne(
          { accountId, feedState: 'pending' },
          { projection: { _id: 0, eventUid: 1 } },
        );
        if (!more) break;
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
    // The recorded last seq first (one lookup by `_id`); after a duplicate key, the entries' own max.
    let base = await this.recordedLastSeq(accountId);
    let i = 0;
    while (i < entries.length) {
      const batch: ChangeDoc[] = entries.slice(i).map((e, k) => ({ ...e, seq: base + 1 + k }));
      try {
        await this.c.changes.insertMany(batch, { ordered: true });
        for (const b of batch) seqs.push(b.seq);
        i = entries.length;
      } catch (err) {
        // Ordered: the insert stopped at the first error, a duplicate key (anything else rethrows).
        const first = duplicateKeyErrorsOnly(err)[0] as WriteError;
        for (const b of batch.slice(0, first.index)) seqs.push(b.seq);
        i += first.index;
        base = await this.lastSeq(accountId);
      }
    }
    const last = seqs[seqs.length - 1];
    if (last !== undefined) await this.upsertHead(accountId, { $max: { lastSeq: last } });
    return seqs;
  }

  private async recordedLastSeq(accountId: string): Promise<number> {
    const head = await this.c.feedHeads.findOne({ _id: accountId });
    return Math.max(head?.lastSeq ?? 0, head?.prunedThrough ?? 0);
  }

  /** An update of the account's head, created if missing (two creators racing: one retries). */
  private async upsertHead(accountId: string, update: UpdateFilter<FeedHeadDoc>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.c.feedHeads.updateOne({ _id: accountId }, update, { upsert: true });
        return;
      } catch (err) {
        if ((err as { code?: number }).code !== 11000 || attempt >= 3) throw err;
      }
    }
  }

  /**
   * Clears the marks of `marked` whose token is still the one read: an event written again since
   * keeps its new mark, and the next flush appends an entry after that write.
   */
  private async clearMarks(accountId: string, marked: readonly Pick<EventDoc, 'eventUid' | 'feedToken'>[]) {
    const byToken = new Map<string, string[]>();
    for (const d of marked) {
      const uids = byToken.get(d.feedToken as string) ?? [];
      uids.push(d.eventUid);
      byToken.set(d.feedToken as string, uids);
    }
    // One statement per write operation (a page shares its token), by the natural key.
    for (const [feedToken, uids] of byToken) {
      for (let i = 0; i < uids.length; i += 500) {
        await this.c.events.updateMany(
          { accountId, feedToken, eventUid: { $in: uids.slice(i, i + 500) } },
          { $set: { feedState: 'fed' }, $unset: { feedToken: '' } },
        );
      }
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
    await this.upsertHead(accountId, { $max: { prunedThrough: Math.max(...seqs) } });
    let tombstones = 0;
    let prunedDeletions = deletions;
    if (deletions.length > 0) {
      const uids = deletions.map((d) => d.eventUid);
      // Only tombstones unchanged since before the cutoff (so that deletion is their last write)
      // and not being written now.
      const res = await this.c.events.deleteMany({
        accountId,
        eventUid: { $in: uids },
        deleted: true,
        feedState: { $ne: 'pending' },
        syncedAt: { $lt: cutoff },
      });
      tombstones = res.deletedCount;
      // A deletion whose tombstone stayed keeps its entry: the feed still yields what `events` holds.
      const kept = new Set(
        (
          await this.c.events
            .find({ accountId, eventUid: { $in: uids } }, { projection: { _id: 0, eventUid: 1 } })
            .toArray()
        ).map((d) => d.eventUid),
      );
      prunedDeletions = deletions.filter((d) => !kept.has(d.eventUid));
    }
    seqs.splice(0, seqs.length, ...superseded, ...prunedDeletions.map((d) => d.seq));
    const res = await this.c.changes.deleteMany({ accountId, seq: { $in: seqs } });
    this.opts.metrics?.feedPruned.inc({ kind: 'superseded' }, superseded.length);
    this.opts.metrics?.feedPruned.inc({ kind: 'deletion' }, prunedDeletions.length);
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
      await this.upsertHead(accountId, { $max: { prunedThrough: last } });
    }
    return (await this.c.changes.deleteMany({ accountId })).deletedCount;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
