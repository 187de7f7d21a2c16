/**
 * JSON schemas of the admin and read API. Each route's schema gives its request validation, its
 * response serialisation and its part of the OpenAPI document at `/docs`. Response schemas say
 * `nullable` (OpenAPI 3.0) rather than `type: [..., 'null']`.
 *
 * Request validation is stricter than Fastify's default here (`strictValidatorCompiler`): unknown
 * body fields are a 400 rather than silently dropped, and bodies are never type-coerced.
 */
import { Ajv } from 'ajv';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { DATA_CENTERS } from '../cronofy/types.js';
import { ACCOUNT_ID_PATTERN, SYNC_KINDS, SYNC_MODES, SYNC_STATES, type SyncMode } from '../domain.js';
import { DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT } from '../store/events-query.js';

const common = { allErrors: false, useDefaults: true, removeAdditional: false, strict: true } as const;
const bodyAjv = new Ajv({ ...common, coerceTypes: false });
// Query strings and path parameters are text: `limit=10`, `wait=true` are coerced to their types.
const textAjv = new Ajv({ ...common, coerceTypes: 'array' });
for (const ajv of [bodyAjv, textAjv]) ajv.addKeyword('example');

export const strictValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object);

/** Like Fastify's message (`body/accountId must ...`), naming the offending field when it is extra. */
export function schemaErrorMessage(errs: FastifySchemaValidationError[], dataVar: string): Error {
  const e = errs[0];
  if (!e) return new Error(`${dataVar} is invalid`);
  const extra = e.keyword === 'additionalProperties' ? `: \`${String(e.params['additionalProperty'])}\`` : '';
  return new Error(`${dataVar}${e.instancePath} ${e.message ?? 'is invalid'}${extra}`);
}

export const BEARER = [{ bearer: [] }];

const nullableString = { type: 'string', nullable: true } as const;
const nullableTime = { type: 'string', format: 'date-time', nullable: true } as const;
const openObject = { type: 'object', additionalProperties: true } as const;

export const errorBody = {
  type: 'object',
  properties: {
    error: { type: 'string', description: 'Stable machine-readable code' },
    message: { type: 'string', description: 'For humans' },
  },
  required: ['error', 'message'],
} as const;

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (`invalid_request`, `invalid_cursor`, `invalid_time`, `invalid_range`, `invalid_state`, ...)',
  401: 'Missing or wrong `Authorization: Bearer <ADMIN_TOKEN>` (`unauthorized`)',
  404: 'No such account (`account_not_found`)',
  409: 'The account is closed or its workflow is not running (`account_closed`, `workflow_not_running`, `sync_rejected`)',
  502: 'Cronofy failed (`sync_failed`, `cronofy_unavailable`)',
  503: 'Temporal unreachable, retry later (`temporal_unavailable`), or OAuth not configured',
};

/** The `{ error, message }` body under each status, described for the OpenAPI document. */
export const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { ...errorBody, description: ERROR_DESCRIPTIONS[c] ?? 'Error' }]));

const accountId = {
  type: 'string',
  pattern: ACCOUNT_ID_PATTERN,
  description: 'Your id for the Cronofy account (1-128 of `A-Za-z0-9_.:@+-`, not starting with `.`)',
  example: 'user-42',
} as const;

export const accountParams = {
  type: 'object',
  properties: { accountId },
  required: ['accountId'],
  additionalProperties: false,
} as const;

const token = { type: 'string', minLength: 1, maxLength: 4096 } as const;

// ---- POST /accounts ------------------------------------------------------------------------

export interface RegisterBody {
  accountId: string;
  accessToken: string;
  refreshToken: string;
  dataCenter?: (typeof DATA_CENTERS)[number];
  calendarIds?: string[];
}

export const registerSchema = {
  tags: ['accounts'],
  summary: 'Register an account',
  description:
    'Stores the OAuth tokens encrypted and starts the account workflow, which creates the notification channel and runs the initial full sync. Idempotent: registering again replaces tokens and settings (201 first time, 200 after).',
  security: BEARER,
  body: {
    type: 'object',
    properties: {
      accountId,
      accessToken: token,
      refreshToken: token,
      dataCenter: { type: 'string', enum: [...DATA_CENTERS], description: 'Defaults to CRONOFY_DATA_CENTER' },
      calendarIds: {
        type: 'array',
        items: { type: 'string', minLength: 1, maxLength: 256 },
        maxItems: 500,
        uniqueItems: true,
        description: 'Sync only these calendars; all calendars when absent or empty',
      },
    },
    required: ['accountId', 'accessToken', 'refreshToken'],
    additionalProperties: false,
  },
  response: {
    ...Object.fromEntries(
      [200, 201].map((c) => [
        c,
        {
          type: 'object',
          properties: { accountId: { type: 'string' }, created: { type: 'boolean' } },
          required: ['accountId', 'created'],
        },
      ]),
    ),
    ...errors(400, 401, 503),
  },
} as const;

// ---- GET /accounts/:accountId --------------------------------------------------------------

const lastSync = {
  type: 'object',
  properties: {
    kind: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    upserted: { type: 'integer' },
    deleted: { type: 'integer' },
    pages: { type: 'integer' },
  },
} as const;

export const accountStatusSchema = {
  type: 'object',
  description:
    "The workflow's `status` query. When the workflow is not running (deregistered, or not answering), the state stored in MongoDB, with `workflowRunning: false` / `source: store`.",
  properties: {
    accountId: { type: 'string' },
    state: { type: 'string', enum: [...SYNC_STATES] },
    workflowRunning: { type: 'boolean' },
    source: { type: 'string', enum: ['workflow', 'store'] },
    channel: {
      type: 'object',
      properties: { id: nullableString, lastNotificationAt: nullableTime, lastCheckedAt: nullableTime },
    },
    lastSyncs: { type: 'object', properties: Object.fromEntries(SYNC_KINDS.map((k) => [k, lastSync])) },
    lastSuccessfulSyncAt: nullableTime,
    watermark: nullableTime,
    pending: {
      type: 'object',
      properties: {
        notifications: { type: 'integer' },
        earliestChangesSince: nullableString,
        firstPendingAt: nullableTime,
        requested: { type: 'array', items: { type: 'string', enum: [...SYNC_MODES] } },
        syncDueAt: nullableTime,
      },
    },
    running: { type: 'string', enum: [...SYNC_KINDS], nullable: true },
    nextFullSyncAt: nullableTime,
    nextWindowEdgeSyncAt: nullableTime,
    nextChannelCheckAt: nullableTime,
    failingSince: nullableTime,
    lastError: {
      type: 'object',
      nullable: true,
      properties: { message: { type: 'string' }, type: nullableString, at: { type: 'string' } },
    },
    profileDisconnected: { type: 'object', nullable: true, properties: { at: { type: 'string' } } },
    dataCenter: { type: 'string' },
    calendarIds: { type: 'array', items: { type: 'string' }, nullable: true },
    registeredAt: nullableTime,
    deregisteredAt: nullableTime,
  },
  required: ['accountId', 'state', 'workflowRunning', 'source'],
  // Fields the workflow adds later still reach the caller.
  additionalProperties: true,
} as const;

export const statusSchema = {
  tags: ['accounts'],
  summary: 'Account status',
  description: 'State, channel, last syncs, pending work and last error of the account.',
  security: BEARER,
  params: accountParams,
  response: { 200: accountStatusSchema, ...errors(400, 401, 404, 503) },
} as const;

// ---- POST /accounts/:accountId/sync --------------------------------------------------------

export interface SyncBody {
  mode: SyncMode;
}

export const syncSchema = {
  tags: ['accounts'],
  summary: 'Request a sync',
  description:
    'Queues a sync (202). With `?wait=true` waits for it and answers its result (200); 502 when the sync fails, 409 when the account is closed or being deregistered, 202 when it is still running after the wait limit.',
  security: BEARER,
  params: accountParams,
  querystring: {
    type: 'object',
    properties: { wait: { type: 'boolean', default: false } },
    additionalProperties: false,
  },
  body: {
    type: 'object',
    properties: { mode: { type: 'string', enum: [...SYNC_MODES] } },
    required: ['mode'],
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      description: 'SyncResult',
      properties: {
        kind: { type: 'string', enum: [...SYNC_KINDS] },
        pages: { type: 'integer' },
        upserted: { type: 'integer' },
        deleted: { type: 'integer' },
        unchanged: { type: 'integer' },
        startedAt: { type: 'string', format: 'date-time' },
        finishedAt: { type: 'string', format: 'date-time' },
        watermark: { type: 'string', format: 'date-time' },
      },
      required: ['kind', 'pages', 'upserted', 'deleted', 'unchanged', 'startedAt', 'finishedAt'],
    },
    202: {
      type: 'object',
      properties: {
        accountId: { type: 'string' },
        mode: { type: 'string' },
        status: { type: 'string', enum: ['queued', 'running'] },
      },
    },
    ...errors(400, 401, 404, 409, 502, 503),
  },
} as const;

// ---- PUT /accounts/:accountId/tokens -------------------------------------------------------

export interface TokensBody {
  accessToken: string;
  refreshToken: string;
}

export const tokensSchema = {
  tags: ['accounts'],
  summary: 'Replace the OAuth tokens',
  description:
    'After re-authorization: stores the new tokens (encrypted with the current key) and wakes the workflow, which resumes a disconnected account. 409 for a deregistered account (register it again instead).',
  security: BEARER,
  params: accountParams,
  body: {
    type: 'object',
    properties: { accessToken: token, refreshToken: token },
    required: ['accessToken', 'refreshToken'],
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      properties: { accountId: { type: 'string' }, updated: { type: 'boolean' } },
    },
    ...errors(400, 401, 404, 409, 503),
  },
} as const;

// ---- DELETE /accounts/:accountId -----------------------------------------------------------

export const deleteSchema = {
  tags: ['accounts'],
  summary: 'Deregister an account',
  description:
    'The workflow closes the notification channel, marks the account closed and ends. Synced events stay unless `purge=true`, which also deletes them and the account document. On an already closed account, `purge=true` purges at once.',
  security: BEARER,
  params: accountParams,
  querystring: {
    type: 'object',
    properties: { purge: { type: 'boolean', default: false } },
    additionalProperties: false,
  },
  response: {
    202: {
      type: 'object',
      properties: {
        accountId: { type: 'string' },
        purge: { type: 'boolean' },
        status: { type: 'string', enum: ['deregistering', 'closed', 'purged'] },
      },
    },
    ...errors(400, 401, 404, 503),
  },
} as const;

// ---- GET /accounts/:accountId/events -------------------------------------------------------

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
  type: 'object',
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
} as const;

export const eventsSchema = {
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
    200: {
      type: 'object',
      properties: {
        events: { type: 'array', items: eventSchema },
        nextCursor: { type: 'string', nullable: true, description: 'null on the last page' },
      },
      required: ['events', 'nextCursor'],
    },
    ...errors(400, 401, 404),
  },
} as const;
