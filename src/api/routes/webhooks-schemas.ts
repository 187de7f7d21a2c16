/**
 * Schemas of the webhook routes (./webhooks.ts) and of the two message types a webhook receives
 * (docs/webhooks.md). Named components (`$id`) for every response shape and both messages, so a
 * generated client, and a receiver's author, get one type each.
 */
import { accountIdSchema, BEARER, errors, nullableString, nullableTime, ref } from '../schemas.js';
import { changeSchema } from './changes.js';

const WEBHOOK_EXAMPLE = {
  id: 'wh_5c1f0e9a7b3d2c4e6f80',
  url: 'https://downstream.example.com/hooks/calendar',
  accountIds: null,
  description: 'search indexer',
  state: 'active',
  pausedReason: null,
  failingSince: null,
  pausedAt: null,
  createdAt: '2026-11-30T09:00:00.000Z',
} as const;

const webhookProperties = {
  id: { type: 'string', description: '`wh_...`' },
  url: { type: 'string', description: 'Where messages are POSTed (http or https)' },
  accountIds: {
    type: 'array',
    items: { type: 'string' },
    nullable: true,
    description: 'The accounts it follows; null: every account',
  },
  description: nullableString,
  state: {
    type: 'string',
    enum: ['active', 'paused'],
    description:
      '`paused`: a message failed for the whole retry window (`WEBHOOK_RETRY_WINDOW`); nothing is delivered until `POST /webhooks/{id}/resume` or `/replay`, and nothing is skipped',
  },
  pausedReason: { ...nullableString, description: 'Why it was paused: the account and the last error' },
  failingSince: { ...nullableTime, description: 'When the message that paused it first failed' },
  pausedAt: nullableTime,
  createdAt: { type: 'string', format: 'date-time' },
} as const;

export const webhookSchema = {
  $id: 'Webhook',
  type: 'object',
  description: 'A webhook, without its secret (shown once, at creation)',
  properties: webhookProperties,
  required: ['id', 'url', 'accountIds', 'description', 'state', 'pausedReason', 'failingSince', 'createdAt'],
  example: WEBHOOK_EXAMPLE,
} as const;

export const webhookCursorSchema = {
  $id: 'WebhookCursor',
  type: 'object',
  description: "Where a webhook's delivery for one account is",
  properties: {
    accountId: { type: 'string' },
    cursor: {
      ...nullableString,
      description:
        "The change feed's cursor after the last acknowledged change; null: not past the beginning",
    },
    accountUpdatesDelivered: {
      type: 'integer',
      description: "How many of the account's `account.updated` messages were acknowledged",
    },
    pending: {
      type: 'object',
      nullable: true,
      description: 'The message being delivered (retried until acknowledged)',
      properties: {
        msgId: { type: 'string', description: '`webhook-id`' },
        type: { type: 'string', enum: ['events.changed', 'account.updated'] },
        attempts: { type: 'integer' },
        since: { type: 'string', format: 'date-time', description: 'When it was built' },
      },
      required: ['msgId', 'type', 'attempts', 'since'],
    },
    deliveredAt: { ...nullableTime, description: 'The last acknowledgement' },
  },
  required: ['accountId', 'cursor', 'accountUpdatesDelivered', 'pending', 'deliveredAt'],
  example: {
    accountId: 'user-42',
    cursor: '1287',
    accountUpdatesDelivered: 2,
    pending: null,
    deliveredAt: '2026-11-30T09:05:00.000Z',
  },
} as const;

export const webhookDetailSchema = {
  $id: 'WebhookDetail',
  type: 'object',
  description: 'A webhook and where its delivery is for each account it has reached',
  properties: {
    ...webhookProperties,
    accounts: { type: 'array', items: { $ref: 'WebhookCursor#' } },
  },
  required: [...webhookSchema.required, 'accounts'],
  example: { ...WEBHOOK_EXAMPLE, accounts: [webhookCursorSchema.example] },
} as const;

export const webhooksPageSchema = {
  $id: 'Webhooks',
  type: 'object',
  properties: { webhooks: { type: 'array', items: { $ref: 'Webhook#' } } },
  required: ['webhooks'],
  example: { webhooks: [WEBHOOK_EXAMPLE] },
} as const;

export const webhookCreatedSchema = {
  $id: 'WebhookCreated',
  type: 'object',
  properties: {
    id: { type: 'string' },
    secret: {
      type: 'string',
      description:
        'The signing secret (`whsec_` + base64), shown only here: give it to `new Webhook(secret)` of any Standard Webhooks library',
    },
  },
  required: ['id', 'secret'],
  example: { id: WEBHOOK_EXAMPLE.id, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
} as const;

export const webhookDeliverySchema = {
  $id: 'WebhookDelivery',
  type: 'object',
  description: 'One delivery attempt',
  properties: {
    msgId: { type: 'string', description: '`webhook-id`: the same on every attempt of a message' },
    type: { type: 'string', enum: ['events.changed', 'account.updated'] },
    accountId: { type: 'string' },
    attempt: { type: 'integer', description: "1 for the message's first attempt" },
    status: { type: 'integer', nullable: true, description: 'HTTP status; null when none came' },
    error: { ...nullableString, description: 'Timeout, network error, or the non-2xx answer' },
    latencyMs: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
  },
  required: ['msgId', 'type', 'accountId', 'attempt', 'status', 'error', 'latencyMs', 'at'],
  example: {
    msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    type: 'events.changed',
    accountId: 'user-42',
    attempt: 1,
    status: 200,
    error: null,
    latencyMs: 38,
    at: '2026-11-30T09:05:00.000Z',
  },
} as const;

export const webhookDeliveriesSchema = {
  $id: 'WebhookDeliveries',
  type: 'object',
  properties: { deliveries: { type: 'array', items: { $ref: 'WebhookDelivery#' } } },
  required: ['deliveries'],
  example: { deliveries: [webhookDeliverySchema.example] },
} as const;

export const webhookReplayAcceptedSchema = {
  $id: 'WebhookReplayAccepted',
  type: 'object',
  properties: {
    webhookId: { type: 'string' },
    accountId: { type: 'string' },
    after: { ...nullableString, description: 'Where delivery starts again; null: the beginning' },
  },
  required: ['webhookId', 'accountId', 'after'],
  example: { webhookId: WEBHOOK_EXAMPLE.id, accountId: 'user-42', after: '1200' },
} as const;

export const webhookResumedSchema = {
  $id: 'WebhookResumed',
  type: 'object',
  properties: {
    webhookId: { type: 'string' },
    state: { type: 'string', enum: ['active'] },
    accounts: { type: 'integer', description: 'Delivery workflows woken' },
  },
  required: ['webhookId', 'state', 'accounts'],
  example: { webhookId: WEBHOOK_EXAMPLE.id, state: 'active', accounts: 3 },
} as const;

export const webhookDeletedSchema = {
  $id: 'WebhookDeleted',
  type: 'object',
  properties: {
    webhookId: { type: 'string' },
    deleted: { type: 'boolean', enum: [true] },
    stoppedWorkflows: { type: 'integer' },
  },
  required: ['webhookId', 'deleted', 'stoppedWorkflows'],
  example: { webhookId: WEBHOOK_EXAMPLE.id, deleted: true, stoppedWorkflows: 3 },
} as const;

/** The body of an `events.changed` message (what the receiver gets, not an API answer). */
export const eventsChangedMessageSchema = {
  $id: 'EventsChangedMessage',
  type: 'object',
  description:
    "Webhook message: a contiguous run of an account's change feed (at most `WEBHOOK_MAX_CHANGES` changes), in order",
  properties: {
    type: { type: 'string', enum: ['events.changed'] },
    accountId: { type: 'string' },
    changes: {
      type: 'array',
      items: { $ref: 'Change#' },
      description: 'As `GET /accounts/{accountId}/changes` gives them, in `seq` order',
    },
    cursor: { type: 'string', description: "The feed's cursor after the last change" },
  },
  required: ['type', 'accountId', 'changes', 'cursor'],
  example: {
    type: 'events.changed',
    accountId: 'user-42',
    changes: [changeSchema.example],
    cursor: String(changeSchema.example.seq),
  },
} as const;

/** The body of an `account.updated` message. */
export const accountUpdatedMessageSchema = {
  $id: 'AccountUpdatedMessage',
  type: 'object',
  description: "Webhook message: the account's sync state changed, or a profile's connection did",
  properties: {
    type: { type: 'string', enum: ['account.updated'] },
    accountId: { type: 'string' },
    state: { type: 'string', enum: ['active', 'degraded', 'disconnected', 'closed'] },
    reason: { type: 'string', description: "Degraded or disconnected: the last failed sync's error" },
    profiles: {
      type: 'array',
      description: "When a profile's connection changed: every profile of the account",
      items: {
        type: 'object',
        properties: {
          profileId: { type: 'string' },
          profileName: nullableString,
          connected: { type: 'boolean' },
          relinkUrl: { ...nullableString, description: 'Disconnected: where the user re-authorizes it' },
        },
        required: ['profileId', 'connected'],
      },
    },
    at: { type: 'string', format: 'date-time' },
  },
  required: ['type', 'accountId', 'state', 'at'],
  example: {
    type: 'account.updated',
    accountId: 'user-42',
    state: 'disconnected',
    reason: 'Cronofy 401: authorization revoked',
    at: '2026-11-30T09:05:00.000Z',
  },
} as const;

const webhookParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^wh_[0-9a-f]{20}$', description: 'The webhook id' } },
  required: ['id'],
  additionalProperties: false,
} as const;

export const createWebhookSchema = {
  operationId: 'createWebhook',
  tags: ['webhooks'],
  summary: 'Register a webhook',
  description:
    "Messages of the accounts it follows are POSTed to `url`, signed per Standard Webhooks with the secret answered here (once). New subscriptions start at the beginning of each account's change feed. See docs/webhooks.md.",
  security: BEARER,
  body: {
    type: 'object',
    properties: {
      url: { type: 'string', minLength: 1, maxLength: 2048, description: 'An absolute http or https URL' },
      accountIds: {
        type: 'array',
        items: accountIdSchema,
        minItems: 1,
        maxItems: 10_000,
        uniqueItems: true,
        description: 'Omit to follow every account (including ones registered later)',
      },
      description: { type: 'string', maxLength: 500 },
    },
    required: ['url'],
    additionalProperties: false,
  },
  response: {
    201: ref('WebhookCreated', 'Created; the secret is not shown again'),
    ...errors(400, 401, 503),
  },
} as const;

export const listWebhooksSchema = {
  operationId: 'listWebhooks',
  tags: ['webhooks'],
  summary: 'The webhooks',
  security: BEARER,
  response: { 200: ref('Webhooks', 'Every webhook, oldest first'), ...errors(401, 503) },
} as const;

export const getWebhookSchema = {
  operationId: 'getWebhook',
  tags: ['webhooks'],
  summary: 'A webhook and its delivery per account',
  security: BEARER,
  params: webhookParams,
  response: { 200: ref('WebhookDetail', 'The webhook'), ...errors(400, 401, 404, 503) },
} as const;

export const deleteWebhookSchema = {
  operationId: 'deleteWebhook',
  tags: ['webhooks'],
  summary: 'Delete a webhook',
  description: 'Stops its delivery workflows and removes its cursors and delivery log.',
  security: BEARER,
  params: webhookParams,
  response: { 200: ref('WebhookDeleted', 'Deleted'), ...errors(400, 401, 404, 503) },
} as const;

export const webhookDeliveriesRouteSchema = {
  operationId: 'listWebhookDeliveries',
  tags: ['webhooks'],
  summary: 'Recent delivery attempts',
  description: 'Newest first; kept for 7 days, at most the newest 1,000 per webhook.',
  security: BEARER,
  params: webhookParams,
  querystring: {
    type: 'object',
    properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
    additionalProperties: false,
  },
  response: { 200: ref('WebhookDeliveries', 'Attempts, newest first'), ...errors(400, 401, 404, 503) },
} as const;

export const replayWebhookSchema = {
  operationId: 'replayWebhook',
  tags: ['webhooks'],
  summary: "Deliver an account's changes again from a cursor",
  description:
    "Moves the webhook's feed cursor for the account back to `after` (omitted: the beginning of the feed), re-enables the webhook if it was paused, and wakes delivery.",
  security: BEARER,
  params: webhookParams,
  body: {
    type: 'object',
    properties: {
      accountId: accountIdSchema,
      after: {
        type: 'string',
        pattern: '^[0-9]{1,15}$',
        description: 'A `cursor` from an `events.changed` message or the change feed',
      },
    },
    required: ['accountId'],
    additionalProperties: false,
  },
  response: { 202: ref('WebhookReplayAccepted', 'Replaying'), ...errors(400, 401, 404, 503) },
} as const;

export const resumeWebhookSchema = {
  operationId: 'resumeWebhook',
  tags: ['webhooks'],
  summary: 'Re-enable a paused webhook',
  description:
    "Delivery resumes from each account's stored cursor, with the message that failed: nothing is skipped.",
  security: BEARER,
  params: webhookParams,
  response: { 202: ref('WebhookResumed', 'Delivering again'), ...errors(400, 401, 404, 503) },
} as const;
