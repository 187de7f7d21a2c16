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
  useStrictValidation,
} from '../schemas.js';
import { type AdminDeps, adminCalls, iso } from './admin-deps.js';

export const calendarSchema = {
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
} as const;

export const calendarsSchema = {
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
    200: {
      type: 'object',
      properties: { calendars: { type: 'array', items: calendarSchema } },
      required: ['calendars'],
    },
    ...errors(400, 401, 404),
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
