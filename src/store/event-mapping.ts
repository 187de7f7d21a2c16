/**
 * Cronofy event → our `events` document. Pure: no I/O, no clock (the caller passes `syncedAt`).
 * Fields we do not map are kept under `extra`, so nothing Cronofy sends is lost when it adds fields.
 */
import { createHash } from 'node:crypto';
import type { CronofyEvent, CronofyTime } from '../cronofy/types.js';

export interface EventDoc {
  accountId: string;
  calendarId: string;
  eventUid: string;
  eventId: string | null;
  summary: string | null;
  description: string | null;
  location: CronofyEvent['location'] | null;
  /** As Cronofy sent them. */
  start: CronofyTime | null;
  end: CronofyTime | null;
  /** The same instants as BSON dates, for range queries. All-day dates are UTC midnight. */
  startAt: Date | null;
  endAt: Date | null;
  allDay: boolean;
  deleted: boolean;
  participationStatus: string | null;
  attendees: CronofyEvent['attendees'] | null;
  organizer: CronofyEvent['organizer'] | null;
  recurring: boolean | null;
  seriesIdentifier: string | null;
  status: string | null;
  transparency: string | null;
  createdAt: Date | null;
  /** Cronofy's `updated`: the ordering key that stops an older read overwriting a newer one. */
  updatedAt: Date | null;
  /** When our copy last changed. */
  syncedAt: Date;
  /** Hash of the event as Cronofy sent it: equal hash = nothing to write (idempotent re-sync). */
  contentHash: string;
  /** Fields Cronofy sent that we do not map. */
  extra: Record<string, unknown>;
  /** Set when a full sync saw the event; tombstoning compares against it. */
  lastSeenFullSyncAt?: Date;
  /** When a full sync concluded Cronofy no longer has the event. */
  reconciledDeletedAt?: Date;
  /** Change-feed bookkeeping (see change-feed.ts): written, not yet in the feed. */
  feedPending?: true;
  /** Random per write: a flush clears the mark only if no write came after the one it read. */
  feedToken?: string;
  /** The seq of the feed entry that carries this version. */
  feedSeq?: number;
}

const MAPPED = new Set([
  'calendar_id',
  'event_uid',
  'event_id',
  'summary',
  'description',
  'location',
  'start',
  'end',
  'deleted',
  'created',
  'updated',
  'participation_status',
  'attendees',
  'organizer',
  'recurring',
  'series_identifier',
  'status',
  'transparency',
]);

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export function isAllDay(t: CronofyTime | undefined | null): boolean {
  if (t == null) return false;
  return DATE_ONLY.test(typeof t === 'string' ? t : t.time);
}

/** A Cronofy time or date as a Date; `null` when absent or unparseable (never throws on odd input). */
export function toInstant(t: CronofyTime | undefined | null): Date | null {
  if (t == null) return null;
  const text = typeof t === 'string' ? t : t.time;
  if (typeof text !== 'string') return null;
  const d = new Date(DATE_ONLY.test(text) ? `${text}T00:00:00Z` : text);
  return Number.isNaN(d.getTime()) ? null : d;
}

function parseTime(text: unknown): Date | null {
  if (typeof text !== 'string') return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Key order independent JSON, so the hash does not change when Cronofy reorders fields. */
function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function contentHash(event: CronofyEvent): string {
  return createHash('sha256').update(stableStringify(event)).digest('base64url').slice(0, 22);
}

export function toEventDoc(accountId: string, event: CronofyEvent, syncedAt: Date): EventDoc {
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    // Keys starting with `$` or containing `.` are not storable as field names in MongoDB.
    if (!MAPPED.has(k) && !k.startsWith('$') && !k.includes('.')) extra[k] = v;
  }
  return {
    accountId,
    calendarId: event.calendar_id,
    eventUid: event.event_uid,
    eventId: event.event_id ?? null,
    summary: event.summary ?? null,
    description: event.description ?? null,
    location: event.location ?? null,
    start: event.start ?? null,
    end: event.end ?? null,
    startAt: toInstant(event.start),
    endAt: toInstant(event.end),
    allDay: isAllDay(event.start),
    deleted: event.deleted === true,
    participationStatus: event.participation_status ?? null,
    attendees: event.attendees ?? null,
    organizer: event.organizer ?? null,
    recurring: typeof event.recurring === 'boolean' ? event.recurring : null,
    seriesIdentifier: event.series_identifier ?? null,
    status: event.status ?? null,
    transparency: event.transparency ?? null,
    createdAt: parseTime(event.created),
    updatedAt: parseTime(event.updated),
    syncedAt,
    contentHash: contentHash(event),
    extra,
  };
}
