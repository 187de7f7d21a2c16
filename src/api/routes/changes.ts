/**
 * `GET /accounts/:accountId/changes`: the account's change feed (../../store/change-feed.ts), a
 * page at a time. Bearer-protected (../auth.ts). A consumer keeps `nextCursor` and passes it back
 * as `after`; applying the changes in order leaves it holding what `GET .../events` holds.
 */
import type { FastifyPluginAsync } from 'fastify';
import { DEFAULT_CHANGES_LIMIT, MAX_CHANGES_LIMIT } from '../../store/change-feed.js';
import { adminAuth } from '../auth.js';
import { type AccountParams, accountParams, BEARER, errors, ref, useStrictValidation } from '../schemas.js';
import { type AdminDeps, adminCalls } from './admin-deps.js';
import { eventSchema } from './events.js';

export const changeSchema = {
  $id: 'Change',
  type: 'object',
  description: 'One change of the feed: the event as it was stored by this change',
  properties: {
    seq: {
      type: 'integer',
      description: 'Strictly increasing per account, in the order changes were written',
    },
    op: {
      type: 'string',
      enum: ['upsert', 'delete'],
      description: '`delete`: the event is gone from Cronofy; `event` is its tombstone',
    },
    eventUid: { type: 'string' },
    calendarId: { type: 'string' },
    event: ref('Event', 'As `GET /accounts/:accountId/events` returns it'),
    changedAt: { type: 'string', format: 'date-time', description: 'When our copy changed' },
  },
  required: ['seq', 'op', 'eventUid', 'calendarId', 'event', 'changedAt'],
  example: {
    seq: 42,
    op: 'upsert',
    eventUid: 'evt_external_439559854',
    calendarId: 'cal_n23kjnwrw2_jsdfjksn234',
    event: eventSchema.example,
    changedAt: '2026-11-30T09:00:02.000Z',
  },
} as const;

export const changesPageSchema = {
  $id: 'ChangesPage',
  type: 'object',
  properties: {
    changes: { type: 'array', items: { $ref: 'Change#' } },
    nextCursor: {
      type: 'string',
      description: 'Pass as `after` for the next page (the same cursor when nothing was new)',
    },
    hasMore: { type: 'boolean', description: 'More changes are there right now: ask again at once' },
  },
  required: ['changes', 'nextCursor', 'hasMore'],
  example: { changes: [], nextCursor: '42', hasMore: false },
} as const;

export const changesSchema = {
  operationId: 'listChanges',
  tags: ['events'],
  summary: 'Change feed of an account',
  description:
    "Every change to the account's events, in order, from `after` (no `after`: from the beginning, which holds every live event). An event changed again appears again, later, with its latest version; following the feed never misses a change. Deletions and superseded versions are kept for the retention (`FEED_RETENTION`, 30 days by default): a cursor older than that answers `410` (`cursor_expired`), and the consumer starts again from the beginning.",
  security: BEARER,
  params: accountParams,
  querystring: {
    type: 'object',
    properties: {
      after: {
        type: 'string',
        pattern: '^\\d{1,15}$',
        description: '`nextCursor` of the previous page (opaque; today a decimal sequence number)',
      },
      limit: { type: 'integer', minimum: 1, maximum: MAX_CHANGES_LIMIT, default: DEFAULT_CHANGES_LIMIT },
    },
    additionalProperties: false,
  },
  response: {
    200: ref('ChangesPage', 'One page of changes'),
    ...errors(400, 401, 404, 410, 503),
  },
} as const;

export const changesRoutes: FastifyPluginAsync<AdminDeps> = async (app, deps) => {
  const { account } = adminCalls(deps);
  useStrictValidation(app);
  app.addHook('onRequest', adminAuth(deps.config.adminToken));

  app.get<{ Params: AccountParams; Querystring: { after?: string; limit?: number } }>(
    '/accounts/:accountId/changes',
    { schema: changesSchema },
    async (req) => {
      const a = await account(req.params.accountId);
      return deps.changes.read(a.accountId, req.query.after, req.query.limit);
    },
  );
};
