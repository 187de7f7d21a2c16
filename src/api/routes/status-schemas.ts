/**
 * The named schemas of `GET /accounts/:accountId` (./accounts.ts): the account status and its
 * parts, each an OpenAPI component (../components.ts). Apart from accounts-schemas.ts for length:
 * the status is the largest document the API answers with.
 */
import { SYNC_KINDS, SYNC_MODES, SYNC_STATES } from '../../domain.js';
import { nullableString, nullableTime } from '../schemas.js';

export const lastSyncSchema = {
  $id: 'LastSync',
  type: 'object',
  description: 'The latest successful sync of a kind',
  properties: {
    kind: { type: 'string', enum: [...SYNC_KINDS] },
    at: { type: 'string', format: 'date-time' },
    upserted: { type: 'integer' },
    deleted: { type: 'integer' },
    pages: { type: 'integer' },
  },
  example: { kind: 'full', at: '2026-05-01T10:00:02.000Z', upserted: 120, deleted: 3, pages: 2 },
} as const;

export const syncProgressSchema = {
  $id: 'SyncProgress',
  type: 'object',
  description:
    'The sync running now, page by page (from its `sync_runs` document): `pagesTotal` is what Cronofy announced (`pages.total`), null until the first page is written.',
  properties: {
    kind: { type: 'string', enum: [...SYNC_KINDS] },
    pagesDone: { type: 'integer' },
    pagesTotal: { type: 'integer', nullable: true },
    upserted: { type: 'integer' },
    deleted: { type: 'integer' },
    startedAt: { type: 'string', format: 'date-time' },
  },
  required: ['kind', 'pagesDone', 'pagesTotal', 'upserted', 'deleted', 'startedAt'],
  example: {
    kind: 'full',
    pagesDone: 3,
    pagesTotal: 8,
    upserted: 1200,
    deleted: 4,
    startedAt: '2026-05-01T10:00:00.000Z',
  },
} as const;

export const profileSchema = {
  $id: 'Profile',
  type: 'object',
  description: 'A calendar profile as Cronofy last reported it',
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
  example: {
    profileId: 'pro_1',
    profileName: 'user@example.com',
    providerName: 'google',
    connected: true,
    relinkUrl: null,
    initialSyncRequired: false,
  },
} as const;

export const accountStatusSchema = {
  $id: 'AccountStatus',
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
    lastSyncs: {
      type: 'object',
      properties: Object.fromEntries(SYNC_KINDS.map((k) => [k, { $ref: 'LastSync#' }])),
    },
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
    // Present only while a sync runs (an optional property rather than a nullable `$ref`, which
    // OpenAPI 3.0 can only say through `allOf`).
    progress: { $ref: 'SyncProgress#' },
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
      items: { $ref: 'Profile#' },
    },
    dataCenter: { type: 'string' },
    calendarIds: { type: 'array', items: { type: 'string' }, nullable: true },
    registeredAt: nullableTime,
    deregisteredAt: nullableTime,
  },
  required: ['accountId', 'state', 'workflowRunning', 'source'],
  // Fields the workflow adds later still reach the caller.
  additionalProperties: true,
  example: {
    accountId: 'user-42',
    state: 'active',
    workflowRunning: true,
    source: 'workflow',
    channel: { id: 'chn_1', lastNotificationAt: '2026-05-01T09:58:00.000Z', lastCheckedAt: null },
    lastSyncs: {
      full: { kind: 'full', at: '2026-05-01T04:00:02.000Z', upserted: 120, deleted: 3, pages: 2 },
    },
    lastSuccessfulSyncAt: '2026-05-01T04:00:02.000Z',
    watermark: '2026-05-01T03:59:00Z',
    pending: {
      notifications: 0,
      earliestChangesSince: null,
      firstPendingAt: null,
      requested: [],
      syncDueAt: null,
    },
    running: 'incremental',
    progress: {
      kind: 'incremental',
      pagesDone: 1,
      pagesTotal: 2,
      upserted: 40,
      deleted: 0,
      startedAt: '2026-05-01T10:00:00.000Z',
    },
    nextFullSyncAt: '2026-05-02T04:00:00.000Z',
    nextWindowEdgeSyncAt: '2026-05-01T16:00:00.000Z',
    nextChannelCheckAt: '2026-05-01T16:00:00.000Z',
    failingSince: null,
    lastError: null,
    profileDisconnected: null,
    profiles: null,
    dataCenter: 'us',
    calendarIds: null,
    registeredAt: '2026-04-01T10:00:00.000Z',
    deregisteredAt: null,
  },
} as const;
