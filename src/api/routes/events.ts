/**
 * `GET /accounts/:accountId/events`: the synced events of an account, from MongoDB, a page at a
 * time. Bearer-protected (../auth.ts). A cursor from another query is refused by the reader
 * (`InvalidCursorError`, answered 400 `invalid_cursor` by the error handler).
 */
import type { FastifyPluginAsync } from 'fastify';
import { DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT } from '../../store/events-query.js';
import { ApiError } from '../api-error.js';
import { adminAuth } from '../auth.js';
import {
  type AccountParams,
  accountParams,
  BEARER,
  errors,
  nullableString,
  nullableTime,
  openObject,
  ref,
  useStrictValidation,
} from '../schemas.js';
import { type AdminDeps, adminCalls } from './admin-deps.js';

/** ISO 8601 date-time with a zone (`Z` or an offset), or a date (UTC midnight). */
export const INSTANT_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2}))?$';

export interface EventsQuerystring {
  from?: string;
  to?: string;
  calendarId?: string;
  includeDeleted?: boolean;
  limit?: number;
  cursor?: string;
}

const cronofyTime = {
  description: 'As Cronofy sent it: `YYYY-MM-DD` (all-day), `YYYY-MM-DDTHH:MM:SSZ`, or `{ time, tzid }`',
  // `nullable` on each branch: the serializer needs a `type` next to it.
  anyOf: [
    { type: 'string', nullable: true },
    {
      type: 'object',
      nullable: true,
      properties: { time: { type: 'string' }, tzid: { type: 'string' } },
      additionalProperties: true,
    },
  ],
} as const;

export const eventSchema = {
  $id: 'Event',
  type: 'object',
  description: "A synced event: Cronofy's fields, our times and bookkeeping (docs/events-schema.md)",
  properties: {
    accountId: { type: 'string' },
    calendarId: { type: 'string' },
    eventUid: { type: 'string' },
    eventId: nullableString,
    summary: nullableString,
    description: nullableString,
    location: { ...openObject, nullable: true },
    start: cronofyTime,
    end: cronofyTime,
    startAt: nullableTime,
    endAt: nullableTime,
    allDay: { type: 'boolean' },
    deleted: { type: 'boolean' },
    participationStatus: nullableString,
    attendees: { type: 'array', items: openObject, nullable: true },
    organizer: { ...openObject, nullable: true },
    recurring: { type: 'boolean', nullable: true },
    seriesIdentifier: nullableString,
    status: nullableString,
    transparency: nullableString,
    createdAt: nullableTime,
    updatedAt: { ...nullableTime, description: "Cronofy's `updated`" },
    syncedAt: { type: 'string', format: 'date-time', description: 'When our copy last changed' },
    reconciledDeletedAt: {
      type: 'string',
      format: 'date-time',
      description: 'Set when a full sync found the event gone from Cronofy',
    },
    extra: { ...openObject, description: 'Fields Cronofy sent that are not mapped above' },
  },
  example: {
    accountId: 'user-42',
    calendarId: 'cal_1',
    eventUid: 'evt_external_1',
    eventId: 'evt-1',
    summary: 'Planning',
    description: null,
    location: { description: 'Room 2' },
    start: '2026-05-04T09:00:00Z',
    end: '2026-05-04T10:00:00Z',
    startAt: '2026-05-04T09:00:00.000Z',
    endAt: '2026-05-04T10:00:00.000Z',
    allDay: false,
    deleted: false,
    participationStatus: 'accepted',
    attendees: [{ email: 'user@example.com', status: 'accepted' }],
    organizer: { email: 'user@example.com' },
    recurring: false,
    seriesIdentifier: null,
    status: 'confirmed',
    transparency: 'opaque',
    createdAt: '2026-04-20T08:00:00.000Z',
    updatedAt: '2026-04-21T08:00:00.000Z',
    syncedAt: '2026-05-01T10:00:01.000Z',
    extra: {},
  },
} as const;

export const eventsPageSchema = {
  $id: 'EventsPage',
  type: 'object',
  properties: {
    events: { type: 'array', items: { $ref: 'Event#' } },
    nextCursor: { type: 'string', nullable: true, description: 'null on the last page' },
  },
  required: ['events', 'nextCursor'],
  example: { events: [], nextCursor: null },
} as const;

export const eventsSchema = {
  operationId: 'listEvents',
  tags: ['events'],
  summary: 'Synced events of an account',
  description:
    'From MongoDB, ordered by `startAt` then `eventUid`. `from`/`to` select events overlapping [from, to). Tombstones (deleted events) only with `includeDeleted=true`. Page with `nextCursor`.',
  security: BEARER,
  params: accountParams,
  querystring: {
    type: 'object',
    properties: {
      from: { type: 'string', pattern: INSTANT_PATTERN, example: '2026-05-01T00:00:00Z' },
      to: { type: 'string', pattern: INSTANT_PATTERN, example: '2026-06-01' },
      calendarId: { type: 'string', minLength: 1, maxLength: 256 },
      includeDeleted: { type: 'boolean', default: false },
      limit: { type: 'integer', minimum: 1, maximum: MAX_EVENTS_LIMIT, default: DEFAULT_EVENTS_LIMIT },
      cursor: {
        type: 'string',
        minLength: 1,
        maxLength: 2048,
        description: '`nextCursor` of the previous page',
      },
    },
    additionalProperties: false,
  },
  response: {
    200: ref('EventsPage', 'One page of events'),
    ...errors(400, 401, 404, 503),
  },
} as const;

export const eventsRoutes: FastifyPluginAsync<AdminDeps> = async (app, deps) => {
  const { account } = adminCalls(deps);
  useStrictValidation(app);
  app.addHook('onRequest', adminAuth(deps.config.adminToken));

  app.get<{ Params: AccountParams; Querystring: EventsQuerystring }>(
    '/accounts/:accountId/events',
    { schema: eventsSchema },
    async (req) => {
      const q = req.query;
      const from = instant(q.from, 'from');
      const to = instant(q.to, 'to');
      if (from && to && from.getTime() >= to.getTime()) {
        throw new ApiError(400, 'invalid_range', '`from` must be before `to`');
      }
      const a = await account(req.params.accountId);
      return deps.eventsReader.list({
        accountId: a.accountId,
        from,
        to,
        calendarId: q.calendarId,
        includeDeleted: q.includeDeleted,
        limit: q.limit,
        cursor: q.cursor,
      });
    },
  );
};

/** `from`/`to`: a date-time with a zone, or a date (UTC midnight). */
export function instant(text: string | undefined, name: string): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(d.getTime())) throw new ApiError(400, 'invalid_time', `\`${name}\` is not a valid time`);
  return d;
}
