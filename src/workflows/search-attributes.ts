/**
 * The custom search attributes the account and webhook delivery workflows maintain, defined once: the workflow upserts
 * them, the API starts workflows with them and queries by them, and the dev-server setup and
 * docker-compose register them (names and types must match what is declared here).
 */
import { defineSearchAttributeKey } from '@temporalio/common';

export const CronofyAccountId = defineSearchAttributeKey('CronofyAccountId', 'KEYWORD');
/** One of `SYNC_STATES`: query `CronofySyncState = "degraded"` in the Web UI. */
export const CronofySyncState = defineSearchAttributeKey('CronofySyncState', 'KEYWORD');
export const CronofyLastSyncAt = defineSearchAttributeKey('CronofyLastSyncAt', 'DATETIME');
/** Webhook delivery workflows: the webhook (`CronofyWebhookId = "wh_..."`), with `CronofyAccountId`. */
export const CronofyWebhookId = defineSearchAttributeKey('CronofyWebhookId', 'KEYWORD');
/** `delivering`, `idle`, `failing` (retrying a message), `paused` (retry window ran out). */
export const CronofyWebhookState = defineSearchAttributeKey('CronofyWebhookState', 'KEYWORD');

/** The same attributes as the `temporal` CLI names their types (`--search-attribute Name=Type`). */
export const SEARCH_ATTRIBUTE_CLI_TYPES = {
  CronofyAccountId: 'Keyword',
  CronofySyncState: 'Keyword',
  CronofyLastSyncAt: 'Datetime',
  CronofyWebhookId: 'Keyword',
  CronofyWebhookState: 'Keyword',
} as const;
