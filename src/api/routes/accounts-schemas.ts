/** JSON schemas of the account routes (./accounts.ts): validation, serialisation and OpenAPI. */
import type { DataCenter } from '../../cronofy/types.js';
import { SYNC_KINDS, SYNC_MODES, SYNC_STATES, type SyncMode } from '../../domain.js';
import {
  accountIdSchema,
  accountParams,
  BEARER,
  dataCenterSchema,
  errors,
  nullableString,
  nullableTime,
} from '../schemas.js';

const token = { type: 'string', minLength: 1, maxLength: 4096 } as const;

// ---- POST /accounts ------------------------------------------------------------------------

export interface RegisterBody {
  accountId: string;
  accessToken: string;
  refreshToken: string;
  dataCenter?: DataCenter;
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
    profiles: {
      type: 'array',
      nullable: true,
      description: "The account's calendar profiles as Cronofy last reported them (null: not read yet)",
      items: {
        type: 'object',
        properties: {
          profileId: { type: 'string' },
          profileName: nullableString,
          providerName: { type: 'string' },
          connected: { type: 'boolean' },
          relinkUrl: {
            ...nullableString,
            description: 'where the user re-authorizes a disconnected profile',
          },
          initialSyncRequired: { type: 'boolean' },
        },
      },
    },
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
    'The workflow closes the notification channel, marks the account closed and ends. Synced events stay unless `purge=true`, which also revokes the Cronofy authorization and deletes the events, the sync runs and the account document (`removes` lists them). On an already closed account, `purge=true` purges at once and `removed` says what went. Registering the account again is refused (409 `deregistration_in_progress`) until the deregistration has finished.',
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
        removes: {
          type: 'array',
          items: { type: 'string' },
          description:
            'With `purge=true` while deregistering: what the workflow will remove when it finishes',
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
    },
    ...errors(400, 401, 404, 502, 503),
  },
} as const;
