/**
 * Reading `events` back: one account's events, filtered by time range (overlap), calendar and
 * tombstones, in a stable order (`startAt`, then `eventUid`) with keyset pagination behind an
 * opaque cursor. Plain `find` + `sort` + `limit` on the `account_start` / `account_calendar_start`
 * indexes, so it runs the same on MongoDB and FerretDB.
 *
 * Keyset, not offset: a page starts strictly after the last event of the previous one, so events
 * inserted or removed meanwhile never shift later pages (no duplicates, no skipped events).
 */
import type { Collection, Filter } from 'mongodb';
import { decodeCursorBody, encodeCursorBody, fingerprintOf, InvalidCursorError } from './cursor.js';
import type { EventDoc } from './event-mapping.js';

export const DEFAULT_EVENTS_LIMIT = 100;
export const MAX_EVENTS_LIMIT = 1000;

export interface EventsListParams {
  accountId: string;
  /** Events that overlap [from, to): they start before `to` and end after `from`. */
  from?: Date;
  to?: Date;
  calendarId?: string;
  /** Tombstones (`deleted: true`) are left out unless asked for. */
  includeDeleted?: boolean;
  limit?: number;
  /** `nextCursor` of the previous page of the same query. */
  cursor?: string;
}

/** Where a page ends: the sort key of its last event. */
export interface CursorPosition {
  startAt: Date | null;
  eventUid: string;
}

/** Our bookkeeping fields: never shown to readers (the events list, the change feed). */
const PRIVATE_FIELDS = ['contentHash', 'lastSeenFullSyncAt', 'feedPending', 'feedToken', 'feedSeq'] as const;

/** An event as readers see it: the stored document without our bookkeeping fields. */
export type PublicEvent = Omit<EventDoc, (typeof PRIVATE_FIELDS)[number]>;

/** The `find` projection that leaves the bookkeeping fields (and `_id`) out. */
export const PUBLIC_EVENT_PROJECTION: Record<string, 0> = Object.fromEntries([
  ['_id', 0],
  ...PRIVATE_FIELDS.map((f) => [f, 0]),
]);

/** A stored document as readers see it. Pure. */
export function publicEvent(doc: EventDoc & { _id?: unknown }): PublicEvent {
  const out: Record<string, unknown> = { ...doc };
  delete out._id;
  for (const f of PRIVATE_FIELDS) delete out[f];
  return out as PublicEvent;
}

export interface EventsPage {
  events: PublicEvent[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export const EVENTS_SORT = { startAt: 1, eventUid: 1 } as const;

/** The smallest BSON date: `startAt >= MIN_DATE` matches every event that has a start. */
const MIN_DATE = new Date(-8_640_000_000_000_000);

/**
 * Identifies the query a cursor belongs to (not the page size), so a cursor replayed against
 * other filters is refused rather than silently returning a meaningless page.
 */
export function queryFingerprint(p: Omit<EventsListParams, 'limit' | 'cursor'>): string {
  return fingerprintOf([
    p.accountId,
    p.from?.getTime() ?? null,
    p.to?.getTime() ?? null,
    p.calendarId ?? null,
    p.includeDeleted === true,
  ]);
}

/** Opaque to clients: base64url of `{ v, s, u, q }` (startAt ms or null, eventUid, fingerprint). */
export function encodeCursor(pos: CursorPosition, fingerprint: string): string {
  return encodeCursorBody(
    { s: pos.startAt === null ? null : pos.startAt.getTime(), u: pos.eventUid },
    fingerprint,
  );
}

export function decodeCursor(cursor: string, fingerprint: string): CursorPosition {
  const b = decodeCursorBody(cursor, fingerprint);
  if (typeof b.u !== 'string' || !(b.s === null || (typeof b.s === 'number' && Number.isFinite(b.s)))) {
    throw new InvalidCursorError('cursor is malformed');
  }
  return { startAt: b.s === null ? null : new Date(b.s), eventUid: b.u };
}

/**
 * The `find` filter for one page. Pure. The cursor's `startAt` also bounds the index range
 * (`$gte`), so each page scans from where the last one ended.
 */
export function eventsFilter(p: EventsListParams, after?: CursorPosition): Filter<EventDoc> {
  const filter: Filter<EventDoc> = { accountId: p.accountId };
  if (p.calendarId !== undefined) filter.calendarId = p.calendarId;
  if (p.includeDeleted !== true) filter.deleted = false;
  const startAt: { $gte?: Date; $lt?: Date } = {};
  if (p.to !== undefined) startAt.$lt = p.to;
  const and: Filter<EventDoc>[] = [];
  if (p.from !== undefined) {
    // Overlaps [from, to): ends after `from`, or starts at/after it (zero-length events, no end).
    and.push({ $or: [{ endAt: { $gt: p.from } }, { startAt: { $gte: p.from } }] });
  }
  if (after !== undefined) {
    if (after.startAt !== null) {
      startAt.$gte = after.startAt;
      and.push({ $or: [{ startAt: { $gt: after.startAt } }, { eventUid: { $gt: after.eventUid } }] });
    } else {
      // Events without a start sort first; after them come all events that have one.
      and.push({
        $or: [{ startAt: null, eventUid: { $gt: after.eventUid } }, { startAt: { $gte: MIN_DATE } }],
      });
    }
  }
  if (Object.keys(startAt).length > 0) filter.startAt = startAt;
  if (and.length > 0) filter.$and = and;
  return filter;
}

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_EVENTS_LIMIT;
  return Math.min(MAX_EVENTS_LIMIT, Math.max(1, Math.trunc(limit)));
}

export class EventsReader {
  constructor(private readonly events: Collection<EventDoc>) {}

  /** One page. Throws InvalidCursorError for a cursor that is malformed or from another query. */
  async list(p: EventsListParams): Promise<EventsPage> {
    const limit = clampLimit(p.limit);
    const fingerprint = queryFingerprint(p);
    const after = p.cursor === undefined ? undefined : decodeCursor(p.cursor, fingerprint);
    // One more than asked: whether it exists decides if there is a next page.
    const docs = (await this.events
      .find(eventsFilter(p, after), { projection: PUBLIC_EVENT_PROJECTION })
      .sort(EVENTS_SORT)
      .limit(limit + 1)
      .toArray()) as PublicEvent[];
    const more = docs.length > limit;
    const events = more ? docs.slice(0, limit) : docs;
    const last = events[events.length - 1];
    return {
      events,
      nextCursor:
        more && last
          ? encodeCursor({ startAt: last.startAt ?? null, eventUid: last.eventUid }, fingerprint)
          : null,
    };
  }
}
