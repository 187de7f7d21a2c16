/**
 * The webhook messages and how the next one is chosen: pure, unit-tested directly
 * (test/unit/webhook-messages.test.ts). The delivery activity reads what follows the webhook's
 * cursors (a page of the account's change feed and its pending account updates) and this decides
 * what goes next and how far each cursor moves once the receiver acknowledges it.
 *
 * Two streams per account, each in its own order: the change feed (`events.changed`, runs of at
 * most `maxChanges` changes) and the account's state log (`account.updated`, one message per
 * entry). They are merged by time: an account update recorded before the next change goes first,
 * and a run of changes stops before the first update recorded earlier than its next change.
 */
import { type FeedChange, feedCursorAfter } from './feed.js';

export type WebhookMessageType = 'events.changed' | 'account.updated';

export interface ProfileUpdate {
  profileId: string;
  profileName?: string | null;
  connected: boolean;
  /** A profile that needs re-authorization: where the user relinks it. */
  relinkUrl?: string | null;
}

/** One entry of an account's state log (`account_updates`), in the order it was recorded. */
export interface AccountUpdate {
  accountId: string;
  seq: number;
  /** The account's sync state: `active`, `degraded`, `disconnected`, `closed`. */
  state: string;
  /** Why it is failing: the last failed sync's error. */
  reason?: string | null;
  /** Present when a profile's connection changed: every profile of the account, as Cronofy reported them. */
  profiles?: ProfileUpdate[];
  at: Date;
}

export interface EventsChangedPayload {
  type: 'events.changed';
  accountId: string;
  changes: Array<Omit<FeedChange, 'changedAt'> & { changedAt: string }>;
  /** The feed cursor after the last change: `GET /accounts/:id/changes?after=<cursor>` follows on. */
  cursor: string;
}

export interface AccountUpdatedPayload {
  type: 'account.updated';
  accountId: string;
  state: string;
  reason?: string;
  profiles?: ProfileUpdate[];
  at: string;
}

export type WebhookPayload = EventsChangedPayload | AccountUpdatedPayload;

/** Where the webhook's cursors move once the message is acknowledged. */
export interface CursorAdvance {
  feedCursor?: string;
  updatesSeq?: number;
}

export interface NextMessage {
  payload: WebhookPayload;
  advance: CursorAdvance;
}

export interface NextMessageInput {
  accountId: string;
  /** The feed's changes after the webhook's feed cursor, in order (at most `maxChanges` are used). */
  changes: readonly FeedChange[];
  /** The page's `nextCursor`: the cursor after its last change. */
  pageCursor: string;
  /** The account updates after the webhook's updates cursor, in `seq` order. */
  updates: readonly AccountUpdate[];
  maxChanges: number;
}

/** The message to deliver next, or null when the webhook has delivered everything there is. */
export function nextMessage(input: NextMessageInput): NextMessage | null {
  const update = input.updates[0];
  const first = input.changes[0];
  if (update && (!first || update.at.getTime() <= first.changedAt.getTime())) {
    return { payload: accountUpdated(update), advance: { updatesSeq: update.seq } };
  }
  if (!first) return null;
  // A run of changes: up to `maxChanges`, and not past an update recorded before the next change.
  const run: FeedChange[] = [];
  for (const c of input.changes) {
    if (run.length >= input.maxChanges) break;
    if (update && update.at.getTime() <= c.changedAt.getTime()) break;
    run.push(c);
  }
  const last = run[run.length - 1] as FeedChange;
  const cursor = run.length === input.changes.length ? input.pageCursor : feedCursorAfter(last);
  return {
    payload: {
      type: 'events.changed',
      accountId: input.accountId,
      changes: run.map((c) => ({ ...c, changedAt: c.changedAt.toISOString() })),
      cursor,
    },
    advance: { feedCursor: cursor },
  };
}

export function accountUpdated(u: AccountUpdate): AccountUpdatedPayload {
  return {
    type: 'account.updated',
    accountId: u.accountId,
    state: u.state,
    ...(u.reason ? { reason: u.reason } : {}),
    ...(u.profiles ? { profiles: u.profiles } : {}),
    at: u.at.toISOString(),
  };
}

/**
 * The body as sent. Serialized once when the message is built and stored with it, so every retry
 * sends the same bytes under the same `webhook-id` (and signature base).
 */
export const serializePayload = (p: WebhookPayload): string => JSON.stringify(p);

/** Whether a profile's connection changed between two UserInfo readings (an `account.updated` then). */
export function profilesChanged(
  before: readonly ProfileUpdate[] | null,
  after: readonly ProfileUpdate[],
): boolean {
  const was = new Map((before ?? []).map((p) => [p.profileId, p]));
  for (const p of after) {
    const old = was.get(p.profileId);
    // A first reading reports only what needs attention: a disconnected profile.
    if (!old) {
      if (before !== null || !p.connected) return true;
      continue;
    }
    if (old.connected !== p.connected || (old.relinkUrl ?? null) !== (p.relinkUrl ?? null)) return true;
  }
  return (before ?? []).some((p) => !after.some((q) => q.profileId === p.profileId));
}
