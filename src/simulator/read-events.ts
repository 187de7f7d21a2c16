/**
 * Read Events as Cronofy answers it: query validation (422 bodies in Cronofy's shape), the sync
 * window clamp, filters, a stable order and keyset paging. Pure functions over stored events.
 */

import type { CronofyEvent } from '../cronofy/types.js';
import { addDays, isCronofyDate, toCronofyTime } from '../lib/time.js';
import type { EventPosition, StoredEvent } from './state.js';

export const WINDOW_PAST_DAYS = 42;
export const WINDOW_FUTURE_DAYS = 201;

export interface EventsQuery {
  tzid: string;
  /** `YYYY-MM-DD`, already clamped to the window. */
  from: string;
  /** `YYYY-MM-DD`, exclusive, already clamped. */
  to: string;
  /** `YYYY-MM-DDTHH:MM:SSZ`: events with `updated` at or after it. */
  lastModified?: string;
  includeDeleted: boolean;
  /** Also events that have ever been inside `from`/`to`, shown where they are now. */
  includeMoved: boolean;
  includeManaged: boolean;
  onlyManaged: boolean;
  calendarIds?: string[];
  localizedTimes: boolean;
}

type FieldErrors = Record<string, { key: string; description: string }[]>;

export type ParsedQuery =
  | { ok: true; query: EventsQuery }
  | { ok: false; status: 402 | 422; body: Record<string, unknown> };

/** Validates a Read Events query string against `today` (a UTC date). */
export function parseEventsQuery(params: URLSearchParams, today: string): ParsedQuery {
  const errors: FieldErrors = {};
  const fail = (field: string, key: string, description: string) => {
    errors[field] = [...(errors[field] ?? []), { key, description }];
  };

  const tzid = params.get('tzid');
  if (tzid === null || tzid === '') fail('tzid', 'errors.required', 'required');
  else if (!isTimeZone(tzid)) fail('tzid', 'errors.invalid_time_zone', 'is not a recognized time zone');

  const minFrom = addDays(today, -WINDOW_PAST_DAYS);
  const maxTo = addDays(today, WINDOW_FUTURE_DAYS);
  let from = minFrom;
  let to = maxTo;
  const rawFrom = params.get('from');
  if (rawFrom !== null) {
    if (isCronofyDate(rawFrom)) from = clampDate(rawFrom, minFrom, maxTo);
    else fail('from', 'errors.invalid_date', 'must be a date in YYYY-MM-DD format');
  }
  const rawTo = params.get('to');
  if (rawTo !== null) {
    if (isCronofyDate(rawTo)) to = clampDate(rawTo, minFrom, maxTo);
    else fail('to', 'errors.invalid_date', 'must be a date in YYYY-MM-DD format');
  }

  let lastModified: string | undefined;
  const rawLastModified = params.get('last_modified');
  if (rawLastModified !== null) {
    const fraction = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d+))?(?:Z|[+-]\d{2}:?\d{2})$/.exec(
      rawLastModified,
    );
    if (!fraction || Number.isNaN(Date.parse(rawLastModified))) {
      fail('last_modified', 'errors.invalid_time', 'must be an ISO 8601 time');
    } else if (fraction[1] !== undefined && /[1-9]/.test(fraction[1])) {
      fail('last_modified', 'errors.invalid_time', 'must not have fractional seconds');
    } else {
      lastModified = toCronofyTime(rawLastModified);
    }
  }

  const flag = (name: string): boolean => {
    const raw = params.get(name);
    if (raw === null || raw === '') return false;
    if (raw === 'true') return true;
    if (raw !== 'false') fail(name, 'errors.invalid_boolean', 'must be true or false');
    return false;
  };
  const includeDeleted = flag('include_deleted');
  const includeManaged = flag('include_managed');
  const onlyManaged = flag('only_managed');
  const localizedTimes = flag('localized_times');
  const includeMoved = flag('include_moved');
  const includeGeo = flag('include_geo');

  const calendarIds = params.getAll('calendar_ids[]');

  if (Object.keys(errors).length > 0) return { ok: false, status: 422, body: { errors } };
  if (includeGeo) {
    return {
      ok: false,
      status: 402,
      body: {
        errors: { include_geo: [{ key: 'errors.plan', description: 'requires a plan with geolocation' }] },
      },
    };
  }
  return {
    ok: true,
    query: {
      tzid: tzid!,
      from,
      to,
      lastModified,
      includeDeleted,
      includeMoved,
      includeManaged: includeManaged || onlyManaged,
      onlyManaged,
      calendarIds: calendarIds.length > 0 ? calendarIds : undefined,
      localizedTimes,
    },
  };
}

/**
 * The events matching `query`, in paging order. Events of `hiddenCalendars` (a disconnected
 * profile's) are left out. Without `include_moved` an event counts only where it is now, so one
 * moved out of the window is invisible, as Cronofy documents; with it, any position it ever had
 * inside the window counts, and it is shown with its current data.
 */
export function selectEvents(
  events: Iterable<StoredEvent>,
  query: EventsQuery,
  hiddenCalendars: ReadonlySet<string> = new Set(),
): StoredEvent[] {
  const fromMs = zonedMidnight(query.from, query.tzid);
  const toMs = zonedMidnight(query.to, query.tzid);
  const out: StoredEvent[] = [];
  for (const stored of events) {
    const e = stored.event;
    if (e.deleted && !query.includeDeleted) continue;
    const managed = typeof e.event_id === 'string' && e.event_id !== '';
    if (managed && !query.includeManaged) continue;
    if (!managed && query.onlyManaged) continue;
    if (query.calendarIds && !query.calendarIds.includes(e.calendar_id)) continue;
    if (hiddenCalendars.has(e.calendar_id)) continue;
    if (query.lastModified !== undefined && (e.updated ?? '') < query.lastModified) continue;
    const inWindow = query.includeMoved
      ? stored.positions.some((p) => overlaps(p, query, fromMs, toMs))
      : overlaps({ start: e.start as string, end: e.end as string }, query, fromMs, toMs);
    if (!inWindow) continue;
    out.push(stored);
  }
  return out.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
}

export interface PageSlice {
  items: StoredEvent[];
  /** Set when more events follow: where the next page starts. */
  next?: PagePosition;
  total: number;
}

/**
 * Where a page chain goes on: after a sort key (keyset) or at an index into the live list (offset).
 * Either way the list is recomputed on every page: nothing is snapshotted at the first page.
 */
export type PagePosition = { afterKey: string } | { offset: number };

/**
 * How `next_page` continues a chain; Cronofy does not document it.
 * - `keyset` (default): the page after the last sort key served (start, then event_uid). An event
 *   moved from a page not yet read to one already read is never seen; one moved the other way is
 *   seen twice; events that did not change are never skipped.
 * - `offset`: page N is items `[(N-1)·size, N·size)` of the list as it is now, like page-numbered
 *   listings (Cronofy's `pages.current`/`pages.total` look like one). Worse: any event leaving or
 *   entering the part already read shifts the rest, so an event that did not change at all can be
 *   skipped (or repeated).
 */
export type PagingMode = 'keyset' | 'offset';

/** The page at `at` (the chain's start when undefined), continuing in `mode`. */
export function slicePage(
  sorted: StoredEvent[],
  at: PagePosition | undefined,
  page: number,
  pageSize: number,
  mode: PagingMode = 'keyset',
): PageSlice {
  if (mode === 'offset' || (at !== undefined && 'offset' in at)) {
    const offset = at !== undefined && 'offset' in at ? at.offset : 0;
    const items = sorted.slice(offset, offset + pageSize);
    const end = offset + items.length;
    return {
      items,
      next: end < sorted.length ? { offset: end } : undefined,
      total: Math.max(page, Math.ceil(sorted.length / pageSize)),
    };
  }
  const remaining = at === undefined ? sorted : sorted.filter((s) => s.sortKey > at.afterKey);
  const items = remaining.slice(0, pageSize);
  const last = items[items.length - 1];
  return {
    items,
    next: remaining.length > pageSize && last ? { afterKey: last.sortKey } : undefined,
    total: page - 1 + Math.max(1, Math.ceil(remaining.length / pageSize)),
  };
}

/** The event as Cronofy shows it for this query (`localized_times` → `{time,tzid}` objects). */
export function renderEvent(stored: StoredEvent, query: EventsQuery): CronofyEvent {
  const event = structuredClone(stored.event);
  if (query.localizedTimes) {
    event.start = { time: stored.event.start as string, tzid: stored.startTzid };
    event.end = { time: stored.event.end as string, tzid: stored.endTzid };
  }
  return event;
}

/** Cronofy clamps out-of-window dates rather than refusing them (unknown; clamping is the lenient guess). */
function clampDate(date: string, min: string, max: string): string {
  if (date < min) return min;
  if (date > max) return max;
  return date;
}

function overlaps(position: EventPosition, query: EventsQuery, fromMs: number, toMs: number): boolean {
  const { start, end } = position;
  if (isCronofyDate(start)) return start < query.to && end > query.from;
  const s = Date.parse(start);
  const en = Date.parse(end);
  if (s === en) return s >= fromMs && s < toMs;
  return s < toMs && en > fromMs;
}

const zoneCache = new Map<string, Intl.DateTimeFormat>();

function formatter(tzid: string): Intl.DateTimeFormat {
  let f = zoneCache.get(tzid);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tzid,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    zoneCache.set(tzid, f);
  }
  return f;
}

function isTimeZone(tzid: string): boolean {
  try {
    formatter(tzid);
    return true;
  } catch {
    return false;
  }
}

/** Offset of `tzid` from UTC at `ms`, in ms. */
function offsetAt(ms: number, tzid: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(tzid).formatToParts(new Date(ms)))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(
    parts['year']!,
    parts['month']! - 1,
    parts['day']!,
    parts['hour']!,
    parts['minute']!,
    parts['second']!,
  );
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant `date` begins in `tzid`. */
export function zonedMidnight(date: string, tzid: string): number {
  const guess = Date.parse(`${date}T00:00:00Z`);
  const first = guess - offsetAt(guess, tzid);
  const second = guess - offsetAt(first, tzid);
  return second;
}
