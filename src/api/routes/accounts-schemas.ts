/** JSON schemas of the account routes (./accounts.ts): validation, serialisation and OpenAPI. */
import type { DataCenter } from '../../cronofy/types.js';
import { SYNC_KINDS, SYNC_MODES, type SyncMode } from '../../domain.js';
import { accountIdSchema, accountParams, BEARER, dataCenterSchema, errors, ref } from '../schemas.js';

const token = { type: 'string', minLength: 1, maxLength: 4096 } as const;

// ---- POST /accounts ------------------------------------------------------------------------

export interface RegisterBody {
  accountId: string;
  accessToken: string;
  refreshToken: string;
  dataCenter?: DataCenter;
  calendarIds?: string[];
}

export const registrationSchema = {
  $id: 'Registration',
  type: 'object',
  properties: {
    accountId: { type: 'string' },
    created: { type: 'boolean', description: 'false: the account was registered already' },
  },
  required: ['accountId', 'created'],
  example: { accountId: 'user-42', created: true },
} as const;

export const registerSchema = {
  operationId: 'registerAccount',
  tags: ['accounts'],
  summary: 'Register an account',
  description:
    'Stores the OAuth tokens encrypted and starts the account workflow, which creates the notification channel and runs the initial full sync. Idempotent: registering again replaces tokens and settings (201 first time, 200 after).',
  security: BEARER,
  body: {
    type: 'object',
    properties: {
      accountId: accountIdSchema,
      accessToken: token,
      refreshToken: token,
      dataCenter: dataCenterSchema,
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
    200: ref('Registration', 'Registered already: tokens and settings replaced'),
    201: ref('Registration', 'Registered; the workflow started'),
    ...errors(400, 401, 409, 503),
  },
} as const;

// ---- GET /accounts/:accountId --------------------------------------------------------------

export const statusSchema = {
  operationId: 'getAccountStatus',
  tags: ['accounts'],
  summary: 'Account status',
  description:
    'State, channel, last syncs, pending work, the running sync and its progress, and the last error of the account.',
  security: BEARER,
  params: accountParams,
  response: { 200: ref('AccountStatus', 'The account status'), ...errors(400, 401, 404, 503) },
} as const;

// ---- POST /accounts/:accountId/sync --------------------------------------------------------

export interface SyncBody {
  mode: SyncMode;
}

export const syncResultSchema = {
  $id: 'SyncResult',
  type: 'object',
  description: 'What a finished sync did',
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
  example: {
    kind: 'full',
    pages: 2,
    upserted: 3,
    deleted: 1,
    unchanged: 196,
    startedAt: '2026-05-01T10:00:00.000Z',
    finishedAt: '2026-05-01T10:00:02.000Z',
    watermark: '2026-05-01T09:59:00Z',
  },
} as const;

export const syncAcceptedSchema = {
  $id: 'SyncAccepted',
  type: 'object',
  properties: {
    accountId: { type: 'string' },
    mode: { type: 'string', enum: [...SYNC_MODES] },
    status: { type: 'string', enum: ['queued', 'running'] },
  },
  example: { accountId: 'user-42', mode: 'full', status: 'queued' },
} as const;

export const syncSchema = {
  operationId: 'requestSync',
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
    200: ref('SyncResult', 'With `wait=true`: the sync ran; what it did'),
    202: ref(
      'SyncAccepted',
      'Queued (`queued`), or `wait=true` and still running after the wait limit (`running`)',
    ),
    ...errors(400, 401, 404, 409, 502, 503),
  },
} as const;

// ---- PUT /accounts/:accountId/tokens -------------------------------------------------------

export interface TokensBody {
  accessToken: string;
  refreshToken: string;
}

export const tokensReplacedSchema = {
  $id: 'TokensReplaced',
  type: 'object',
  properties: { accountId: { type: 'string' }, updated: { type: 'boolean' } },
  example: { accountId: 'user-42', updated: true },
} as const;

export const tokensSchema = {
  operationId: 'replaceTokens',
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
    200: ref('TokensReplaced', 'Stored; the workflow was told'),
    ...errors(400, 401, 404, 409, 503),
  },
} as const;

// ---- DELETE /accounts/:accountId -----------------------------------------------------------

export const deregistrationSchema = {
  $id: 'Deregistration',
  type: 'object',
  properties: {
    accountId: { type: 'string' },
    purge: { type: 'boolean' },
    status: { type: 'string', enum: ['deregistering', 'closed', 'purged'] },
    removes: {
      type: 'array',
      items: { type: 'string' },
      description: 'With `purge=true` while deregistering: what the workflow will remove when it finishes',
    },
    removed: {
      type: 'object',
      description: 'With `purge=true` on a closed account: what was removed',
      properties: {
        authorization: { type: 'string', enum: ['revoked', 'already_revoked', 'none'] },
        events: { type: 'integer' },
        calendars: { type: 'integer' },
        syncRuns: { type: 'integer' },
        account: { type: 'boolean' },
      },
    },
  },
  example: {
    accountId: 'user-42',
    purge: true,
    status: 'deregistering',
    removes: ['cronofy_authorization', 'events', 'sync_runs', 'account'],
  },
} as const;

export const deleteSchema = {
  operationId: 'deregisterAccount',
  tags: ['accounts'],
  summary: 'Deregister an account',
  description:
    'The workflow closes the notification channel, marks the account closed and ends. Synced events stay unless `purge=true`, which also revokes the Cronofy authorization and deletes the events, the sync runs and the account document (`removes` lists them). On an already closed account, `purge=true` purges at once and `removed` says what went. Registering the account again is refused (409 `deregistration_in_progress`) until the deregistration has finished.',
  security: BEARER,
  params: accountParams,
  querystring: {
    type: 'object',
    properties: { purge: { type: 'boolean', default: false } },
    additionalProperties: false,
  },
  response: {
    202: ref(
      'Deregistration',
      'Handed to the workflow (`deregistering`), already closed (`closed`), or purged now (`purged`)',
    ),
    ...errors(400, 401, 404, 502, 503),
  },
} as const;
