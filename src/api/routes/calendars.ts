/**
 * `GET /accounts/:accountId/calendars`: the account's calendars as Cronofy's List Calendars last
 * showed them (refreshed by every full sync and on profile pushes; see docs/events-schema.md),
 * from MongoDB. Bearer-protected (../auth.ts). Not paged: Cronofy's own list is not either, and
 * an account has a handful of calendars.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { CalendarDoc } from '../../store/calendars-repo.js';
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
import { type AdminDeps, adminCalls, iso } from './admin-deps.js';

export const calendarSchema = {
  $id: 'Calendar',
  type: 'object',
  properties: {
    accountId: { type: 'string' },
    calendarId: { type: 'string', description: "Cronofy's `calendar_id`" },
    name: nullableString,
    profileId: nullableString,
    profileName: nullableString,
    providerName: { ...nullableString, description: '`google`, `live_connect`, `exchange`, `apple`, ...' },
    readOnly: { type: 'boolean' },
    primary: { type: 'boolean' },
    deleted: {
      type: 'boolean',
      description: 'Cronofy lists it with `calendar_deleted: true`, or no longer lists it (`listed: false`)',
    },
    deletedAt: { ...nullableTime, description: 'When a refresh first found it deleted' },
    listed: { type: 'boolean', description: "Whether Cronofy's last List Calendars returned it" },
    color: nullableString,
    permissionLevel: nullableString,
    extra: { ...openObject, description: 'Fields Cronofy sent that are not mapped above' },
    createdAt: { type: 'string', format: 'date-time', description: 'When it was first stored' },
    refreshedAt: {
      type: 'string',
      format: 'date-time',
      description: 'When the List Calendars answer behind this document was requested',
    },
  },
  required: ['accountId', 'calendarId', 'deleted', 'listed', 'extra', 'refreshedAt'],
  example: {
    accountId: 'acc_123',
    calendarId: 'cal_n23kjnwrw2_jsdfjksn234',
    name: 'Work',
    profileId: 'pro_n23kjnwrw2',
    profileName: 'me@example.com',
    providerName: 'google',
    readOnly: false,
    primary: true,
    deleted: false,
    deletedAt: null,
    listed: true,
    color: '#49BED8',
    permissionLevel: 'unrestricted',
    extra: {},
    createdAt: '2026-11-30T09:00:00.000Z',
    refreshedAt: '2026-11-30T09:00:00.000Z',
  },
} as const;

export const calendarsPageSchema = {
  $id: 'CalendarsPage',
  type: 'object',
  properties: { calendars: { type: 'array', items: { $ref: 'Calendar#' } } },
  required: ['calendars'],
  example: { calendars: [] },
} as const;

export const calendarsSchema = {
  operationId: 'listCalendars',
  tags: ['calendars'],
  summary: 'Calendars of an account',
  description:
    "As Cronofy's List Calendars last showed them, ordered by `calendarId`. Deleted calendars (kept, `deleted: true`) only with `includeDeleted=true`; their events are whatever Read Events returns for them.",
  security: BEARER,
  params: accountParams,
  querystring: {
    type: 'object',
    properties: { includeDeleted: { type: 'boolean', default: false } },
    additionalProperties: false,
  },
  response: {
    200: ref('CalendarsPage', "The account's calendars"),
    ...errors(400, 401, 404, 503),
  },
} as const;

/** A stored calendar as the API shows it: dates as ISO strings, `deletedAt` always present. */
function toJson(c: CalendarDoc) {
  return { ...c, deletedAt: iso(c.deletedAt), createdAt: iso(c.createdAt), refreshedAt: iso(c.refreshedAt) };
}

export const calendarsRoutes: FastifyPluginAsync<AdminDeps> = async (app, deps) => {
  const { account } = adminCalls(deps);
  useStrictValidation(app);
  app.addHook('onRequest', adminAuth(deps.config.adminToken));

  app.get<{ Params: AccountParams; Querystring: { includeDeleted?: boolean } }>(
    '/accounts/:accountId/calendars',
    { schema: calendarsSchema },
    async (req) => {
      const a = await account(req.params.accountId);
      const calendars = await deps.calendars.list(a.accountId, { includeDeleted: req.query.includeDeleted });
      return { calendars: calendars.map(toJson) };
    },
  );
};
