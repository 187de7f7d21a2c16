/**
 * `GET /accounts`: the registered accounts, for operators ("which accounts are degraded, and since
 * when"), from MongoDB (`accounts`, whose state the workflow records), a page at a time. Never
 * asks Temporal: it answers while Temporal is down. Bearer-protected (../auth.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { DataCenter } from '../../cronofy/types.js';
import { SYNC_STATES, type SyncState } from '../../domain.js';
import { DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT } from '../../store/accounts-query.js';
import { ApiError } from '../api-error.js';
import { adminAuth } from '../auth.js';
import { BEARER, dataCenterSchema, errors, nullableTime, ref, useStrictValidation } from '../schemas.js';
import type { AdminDeps } from './admin-deps.js';
import { iso } from './admin-deps.js';
import { INSTANT_PATTERN, instant } from './events.js';

export interface AccountsQuerystring {
  state?: SyncState[];
  dataCenter?: DataCenter;
  failing?: boolean;
  failingSinceBefore?: string;
  failingSinceAfter?: string;
  limit?: number;
  cursor?: string;
}

export const accountSummarySchema = {
  $id: 'AccountSummary',
  type: 'object',
  description: 'An account as MongoDB has it (the workflow records its state there); no tokens',
  properties: {
    accountId: { type: 'string' },
    state: { type: 'string', enum: [...SYNC_STATES] },
    dataCenter: { type: 'string' },
    calendarIds: { type: 'array', items: { type: 'string' }, nullable: true },
    channelId: { type: 'string', nullable: true },
    failingSince: {
      ...nullableTime,
      description:
        'When the recorded state last left `active` for `degraded` or `disconnected`; null while not failing (and for accounts that have not failed since this was recorded)',
    },
    registeredAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    deregisteredAt: nullableTime,
    deregistering: { type: 'boolean', description: 'A deregistration was requested and has not finished' },
  },
  required: [
    'accountId',
    'state',
    'dataCenter',
    'calendarIds',
    'channelId',
    'failingSince',
    'registeredAt',
    'updatedAt',
    'deregisteredAt',
    'deregistering',
  ],
  example: {
    accountId: 'user-42',
    state: 'degraded',
    dataCenter: 'us',
    calendarIds: null,
    channelId: 'chn_1',
    failingSince: '2026-05-01T09:30:00.000Z',
    registeredAt: '2026-04-01T10:00:00.000Z',
    updatedAt: '2026-05-01T09:30:00.000Z',
    deregisteredAt: null,
    deregistering: false,
  },
} as const;

export const accountsPageSchema = {
  $id: 'AccountsPage',
  type: 'object',
  properties: {
    accounts: { type: 'array', items: { $ref: 'AccountSummary#' } },
    nextCursor: { type: 'string', nullable: true, description: 'null on the last page' },
  },
  required: ['accounts', 'nextCursor'],
  example: { accounts: [accountSummarySchema.example], nextCursor: null },
} as const;

const listSchema = {
  operationId: 'listAccounts',
  tags: ['accounts'],
  summary: 'List accounts',
  description:
    'From MongoDB, ordered by `accountId`, filters combined with AND. `state` may repeat (`state=degraded&state=disconnected`); `failing=true` is the same as those two. `failingSinceBefore`/`failingSinceAfter` select accounts failing since before / at or after a time. Page with `nextCursor`.',
  security: BEARER,
  querystring: {
    type: 'object',
    properties: {
      state: { type: 'array', items: { type: 'string', enum: [...SYNC_STATES] }, maxItems: 4 },
      dataCenter: { ...dataCenterSchema, description: 'Accounts of this data center' },
      failing: { type: 'boolean', description: 'true: degraded or disconnected; false: active or closed' },
      failingSinceBefore: { type: 'string', pattern: INSTANT_PATTERN, example: '2026-05-01T09:00:00Z' },
      failingSinceAfter: { type: 'string', pattern: INSTANT_PATTERN, example: '2026-04-30' },
      limit: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_ACCOUNTS_LIMIT,
        default: DEFAULT_ACCOUNTS_LIMIT,
      },
      cursor: {
        type: 'string',
        minLength: 1,
        maxLength: 1024,
        description: '`nextCursor` of the previous page',
      },
    },
    additionalProperties: false,
  },
  response: {
    200: ref('AccountsPage', 'One page of accounts'),
    ...errors(400, 401, 503),
  },
} as const;

export const accountsListRoutes: FastifyPluginAsync<AdminDeps> = async (app, deps) => {
  useStrictValidation(app);
  app.addHook('onRequest', adminAuth(deps.config.adminToken));

  app.get<{ Querystring: AccountsQuerystring }>('/accounts', { schema: listSchema }, async (req) => {
    const q = req.query;
    const before = instant(q.failingSinceBefore, 'failingSinceBefore');
    const after = instant(q.failingSinceAfter, 'failingSinceAfter');
    if (before && after && after.getTime() >= before.getTime()) {
      throw new ApiError(400, 'invalid_range', '`failingSinceAfter` must be before `failingSinceBefore`');
    }
    if (q.failing === false && (before || after)) {
      throw new ApiError(
        400,
        'invalid_request',
        '`failingSince*` select failing accounts: not with `failing=false`',
      );
    }
    const page = await deps.accounts.list({
      states: q.state,
      dataCenter: q.dataCenter,
      failing: q.failing,
      failingSinceBefore: before,
      failingSinceAfter: after,
      limit: q.limit,
      cursor: q.cursor,
    });
    return {
      accounts: page.accounts.map((a) => ({
        ...a,
        failingSince: iso(a.failingSince),
        registeredAt: iso(a.registeredAt),
        updatedAt: iso(a.updatedAt),
        deregisteredAt: iso(a.deregisteredAt),
      })),
      nextCursor: page.nextCursor,
    };
  });
};
