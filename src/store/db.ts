/**
 * The collections, their document types, and every index, declared in one place and created
 * at start (`ensureIndexes`). Other modules get typed collections from `collections(db)`.
 */
import type { Collection, Db, Document, IndexDescription } from 'mongodb';
import type { DataCenter } from '../cronofy/types.js';
import type { SyncKind, SyncState } from '../domain.js';
import type { CursorAdvance, ProfileUpdate, WebhookMessageType } from '../webhooks/messages.js';
import type { CalendarDoc } from './calendars-repo.js';
import { type ChangeDoc, type FeedHeadDoc, feedMark } from './change-feed.js';
import type { EventDoc } from './event-mapping.js';
import type { DriftCounts } from './events-repo.js';
import type { OAuthNonceDoc } from './oauth-nonces-repo.js';
import type { EncryptedValue } from './token-crypto.js';

export type { SyncKind, SyncState } from '../domain.js';
export type { EventDoc } from './event-mapping.js';

export interface AccountDoc {
  _id: string; // accountId
  accountId: string;
  dataCenter: DataCenter;
  calendarIds: string[] | null;
  accessToken: EncryptedValue;
  refreshToken: EncryptedValue;
  accessTokenExpiresAt: Date | null;
  /** Bumped on every token write, so a refresh never overwrites newer tokens from re-authorization. */
  tokenVersion: number;
  channelId: string | null;
  state: SyncState;
  /**
   * When `state` last went from `active` (or `closed`) to `degraded` or `disconnected`; null while
   * active. Kept by `AccountsRepo.setState` as the workflow records its state, for operators'
   * listings (`GET /accounts?failingSinceBefore=`). Absent on documents written before it existed.
   * The workflow's own `failingSince` (its status) counts from the first failed call instead.
   */
  failingSince?: Date | null;
  createdAt: Date;
  updatedAt: Date;
  deregisteredAt: Date | null;
  /** The Cronofy identity (`sub`) the tokens belong to, from the OAuth callback; absent for API-registered accounts. */
  cronofySub?: string | null;
  /**
   * Set when `DELETE /accounts/:id` hands the deregistration to the workflow, cleared when it
   * finishes: registering meanwhile would be undone by it, so it is refused (409).
   */
  deregisterRequestedAt?: Date | null;
}

export interface SyncRunDoc {
  accountId: string;
  kind: SyncKind;
  workflowRunId: string;
  params: { lastModified?: string; from?: string; to?: string; calendarIds?: string[] };
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  pages: number;
  /**
   * What Cronofy's Read Events chain announced (`pages.total`), written with the counts after
   * each page while the sync runs (the status's `progress`); absent until the first page.
   */
  pagesTotal?: number | null;
  upserted: number;
  deleted: number;
  outcome: 'running' | 'succeeded' | 'failed';
  error: string | null;
  attempts: number;
  /**
   * Full syncs: what it corrected that no incremental sync had written (see docs/events-schema.md);
   * `null` for an account's first full sync, whose writes are not corrections. Absent otherwise.
   */
  drift?: DriftCounts | null;
  /** Full syncs: what reconciliation of deletions did, or why it tombstoned nothing. */
  reconciliation?: ReconciliationRecord;
}

/** Why a full sync tombstoned nothing it did not see (outcomes other than `tombstoned`). */
export type ReconciliationReason =
  | 'chain_incomplete'
  | 'profile_disconnected'
  | 'mass_deletion'
  | 'changing_during_read';

export interface ReconciliationRecord {
  /**
   * `tombstoned`: it ran (`tombstoned` may be 0); `skipped`: not allowed this time (an incomplete
   * page chain, a disconnected profile); `withheld`: more than `limit` events would have been
   * tombstoned, an operator decides; `deferred`: events kept changing while read, the next full
   * sync tries again.
   */
  outcome: 'tombstoned' | 'skipped' | 'withheld' | 'deferred';
  reason?: ReconciliationReason;
  /** Stored live events the page chain did not show. */
  candidates: number;
  /** Of those, found changed while the sync read (written with their current data). */
  confirmedChanged: number;
  /** Of those, found by the re-read that checks an unsettled chain. */
  seenOnReread: number;
  tombstoned: number;
  /** Would have been tombstoned, and were not (withheld or deferred). */
  kept: number;
  /** Withheld: the bound that was exceeded. */
  limit?: number;
  /** Skipped for a disconnected profile: their ids. */
  disconnectedProfiles?: string[];
  /** Skipped for an incomplete chain: what its last page said. */
  chain?: { pagesRead: number; current: number; total: number };
}

/** `active`: delivering; `paused`: a message failed for the whole retry window (resume or replay). */
export type WebhookState = 'active' | 'paused';

export interface WebhookDoc {
  _id: string; // webhook id
  url: string;
  /** null: every account. */
  accountIds: string[] | null;
  description: string | null;
  /** `whsec_...`, encrypted with the token key, bound to the webhook id. */
  secret: EncryptedValue;
  state: WebhookState;
  pausedReason: string | null;
  /** When the message that paused it first failed. */
  failingSince: Date | null;
  pausedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A message built and stored before its first attempt; retries send exactly this. */
export interface PendingWebhookMessage {
  msgId: string;
  type: WebhookMessageType;
  /** The body as sent: the signed bytes. */
  body: string;
  /** `webhook-timestamp` of its first attempt (retries re-sign with their own time; see sender.ts). */
  createdAt: Date;
  advance: CursorAdvance;
  /** The cursor generation it was built in (a replay bumps it). */
  generation: number;
  attempts: number;
}

export interface WebhookCursorDoc {
  _id: string; // `${webhookId}:${accountId}`
  webhookId: string;
  accountId: string;
  /** The change feed's cursor after the last acknowledged change; null: the beginning. */
  feedCursor: string | null;
  /** The last acknowledged `account_updates` seq (0: none). */
  updatesSeq: number;
  generation: number;
  pending: PendingWebhookMessage | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

export interface WebhookDeliveryDoc {
  webhookId: string;
  accountId: string;
  msgId: string;
  type: WebhookMessageType;
  /** 1 for a message's first attempt. */
  attempt: number;
  /** The HTTP status, or null when there was none (timeout, network error). */
  status: number | null;
  error: string | null;
  latencyMs: number;
  at: Date;
}

export interface AccountUpdateDoc {
  accountId: string;
  seq: number;
  state: string;
  reason: string | null;
  profiles?: ProfileUpdate[];
  at: Date;
}

/** sync_runs are an operational log; they expire so the collection cannot grow without bound. */
export const SYNC_RUN_TTL_SECONDS = 30 * 86_400;

export interface Collections {
  events: Collection<EventDoc>;
  accounts: Collection<AccountDoc>;
  syncRuns: Collection<SyncRunDoc>;
  oauthNonces: Collection<OAuthNonceDoc>;
  calendars: Collection<CalendarDoc>;
  webhooks: Collection<WebhookDoc>;
  webhookCursors: Collection<WebhookCursorDoc>;
  webhookDeliveries: Collection<WebhookDeliveryDoc>;
  accountUpdates: Collection<AccountUpdateDoc>;
  changes: Collection<ChangeDoc>;
  feedHeads: Collection<FeedHeadDoc>;
}

export function collections(db: Db): Collections {
  return {
    events: db.collection<EventDoc>('events'),
    accounts: db.collection<AccountDoc>('accounts'),
    syncRuns: db.collection<SyncRunDoc>('sync_runs'),
    oauthNonces: db.collection<OAuthNonceDoc>('oauth_nonces'),
    calendars: db.collection<CalendarDoc>('calendars'),
    webhooks: db.collection<WebhookDoc>('webhooks'),
    webhookCursors: db.collection<WebhookCursorDoc>('webhook_cursors'),
    webhookDeliveries: db.collection<WebhookDeliveryDoc>('webhook_deliveries'),
    accountUpdates: db.collection<AccountUpdateDoc>('account_updates'),
    changes: db.collection<ChangeDoc>('changes'),
    feedHeads: db.collection<FeedHeadDoc>('feed_heads'),
  };
}

/**
 * Creates every missing index (by name; existing ones are left alone, which also sidesteps a
 * FerretDB v1 crash on re-creating some indexes). Returns whether `sync_runs` has a TTL index:
 * FerretDB v1 does not implement TTL, and then the worker prunes it itself (`pruneSyncRuns`).
 */
export async function ensureIndexes(db: Db): Promise<{ ttl: boolean }> {
  const c = collections(db);
  const existing = async (coll: Collection<Document>) => {
    try {
      return new Set((await coll.listIndexes().toArray()).map((i) => i.name as string));
    } catch (err) {
      if ((err as { code?: number }).code === 26) return new Set<string>(); // NamespaceNotFound
      throw err;
    }
  };
  const create = async <T extends Document>(coll: Collection<T>, specs: IndexDescription[]) => {
    for (let attempt = 1; ; attempt++) {
      const have = await existing(coll as never);
      const missing = specs.filter((s) => !have.has(s.name as string));
      if (missing.length === 0) return have;
      try {
        await coll.createIndexes(missing);
        return have;
      } catch (err) {
        // Another process (API and worker start together) may be creating the same indexes; on
        // FerretDB that can even drop our connection. Look again: if they exist now, all is well.
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  };

  await create(c.events, [
    { key: { accountId: 1, eventUid: 1 }, name: 'account_event_uid', unique: true },
    // "events of an account in a time range" (and full-sync reconciliation of the window)
    { key: { accountId: 1, startAt: 1 }, name: 'account_start' },
    { key: { accountId: 1, calendarId: 1, startAt: 1 }, name: 'account_calendar_start' },
    // "changed since": what changed in our copy after a reader's last poll
    { key: { accountId: 1, syncedAt: 1 }, name: 'account_synced' },
    // Writes not yet in the change feed (change-feed.ts `flush`).
    { key: { accountId: 1, feedState: 1 }, name: 'account_feed_state' },
  ]);
  // The change feed: the unique seq is what makes appends gap-free (change-feed.ts).
  await create(c.changes, [
    { key: { accountId: 1, seq: 1 }, name: 'account_seq', unique: true },
    { key: { accountId: 1, eventUid: 1 }, name: 'account_event' },
    { key: { accountId: 1, changedAt: 1 }, name: 'account_changed' },
  ]);
  // `GET /accounts`: by state, in account id order (keyset pages).
  await create(c.accounts, [
    { key: { state: 1 }, name: 'state' },
    { key: { state: 1, _id: 1 }, name: 'state_account' },
  ]);
  // One document per calendar of an account: what makes a refresh's upserts idempotent.
  await create(c.calendars, [
    { key: { accountId: 1, calendarId: 1 }, name: 'account_calendar', unique: true },
  ]);
  // Webhooks: by creation for the list; cursors of one webhook (delete, status); recent attempts of
  // one webhook, newest first, and by age for pruning; an account's updates in seq order, one per seq.
  await create(c.webhooks, [{ key: { createdAt: 1 }, name: 'created' }]);
  await create(c.webhookCursors, [{ key: { webhookId: 1, accountId: 1 }, name: 'webhook_account' }]);
  await create(c.webhookDeliveries, [
    { key: { webhookId: 1, at: -1 }, name: 'webhook_at' },
    { key: { at: 1 }, name: 'at' },
  ]);
  await create(c.accountUpdates, [{ key: { accountId: 1, seq: 1 }, name: 'account_seq', unique: true }]);
  // Expiry of used OAuth nonces; FerretDB v1 has no TTL: OAuthNoncesRepo also removes expired ones.
  await c.oauthNonces
    .createIndex({ expiresAt: 1 }, { name: 'ttl_expires', expireAfterSeconds: 0 })
    .catch((err: { code?: number }) => {
      if (err.code !== 238 && err.code !== 85 && err.code !== 86) throw err; // NotImplemented, option conflicts
    });
  const have = await create(c.syncRuns, [{ key: { accountId: 1, startedAt: -1 }, name: 'account_started' }]);
  if (have.has('ttl_started')) return { ttl: true };
  if (have.has('started')) return { ttl: false };
  try {
    await c.syncRuns.createIndex(
      { startedAt: 1 },
      { name: 'ttl_started', expireAfterSeconds: SYNC_RUN_TTL_SECONDS },
    );
    return { ttl: true };
  } catch (err) {
    if ((err as { code?: number }).code !== 238) throw err; // 238 NotImplemented (FerretDB)
    await c.syncRuns.createIndex({ startedAt: 1 }, { name: 'started' });
    return { ttl: false };
  }
}

/**
 * Events stored before the change feed existed have no entry in it: mark them, so each account's
 * next sync (which starts with a flush) appends them and the feed holds everything `events` does.
 * Afterwards a no-op (every document has a `feedState`). Returns how many it marked.
 */
export async function markEventsWithoutFeedEntry(db: Db): Promise<number> {
  const res = await collections(db).events.updateMany(
    { feedState: { $exists: false } },
    { $set: feedMark() },
  );
  return res.modifiedCount;
}

/** The TTL index's job, for servers without TTL support. */
export async function pruneSyncRuns(db: Db, now: Date): Promise<number> {
  const res = await collections(db).syncRuns.deleteMany({
    startedAt: { $lt: new Date(now.getTime() - SYNC_RUN_TTL_SECONDS * 1000) },
  });
  return res.deletedCount;
}
