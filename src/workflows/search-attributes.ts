/**
 * The custom search attributes the account workflow maintains, defined once: the workflow upserts
 * them, the API starts workflows with them and queries by them, and the dev-server setup and
 * docker-compose register them (names and types must match what is declared here).
 */
import { defineSearchAttributeKey } from '@temporalio/common';

export const CronofyAccountId = defineSearchAttributeKey('CronofyAccountId', 'KEYWORD');
/** One of `SYNC_STATES`: query `CronofySyncState = "degraded"` in the Web UI. */
export const CronofySyncState = defineSearchAttributeKey('CronofySyncState', 'KEYWORD');
export const CronofyLastSyncAt = defineSearchAttributeKey('CronofyLastSyncAt', 'DATETIME');

/** The same attributes as the `temporal` CLI names their types (`--search-attribute Name=Type`). */
export const SEARCH_ATTRIBUTE_CLI_TYPES = {
  CronofyAccountId: 'Keyword',
  CronofySyncState: 'Keyword',
  CronofyLastSyncAt: 'Datetime',
} as const;
