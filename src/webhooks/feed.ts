/**
 * What webhook delivery needs of the account change feed: the shape of a change and a reader.
 * The service's `ChangeFeed` (src/store/change-feed.ts) satisfies `FeedReader` structurally (the
 * worker passes it: src/runtime.ts); tests may pass another (test/support/memory-feed.ts). Kept
 * this narrow so delivery depends on reading only, and its logic is tested without MongoDB.
 */
export interface FeedChange {
  seq: number;
  op: 'upsert' | 'delete';
  eventUid: string;
  calendarId: string;
  /** The event as `GET /accounts/:accountId/events` shows it (a tombstone for `delete`). */
  event: unknown;
  changedAt: Date;
}

export interface FeedPage {
  changes: FeedChange[];
  nextCursor: string;
  hasMore: boolean;
}

export interface FeedReader {
  /** `after` undefined: from the beginning. Cursors are opaque strings (decimal `seq` today). */
  read(accountId: string, after: string | undefined, limit: number): Promise<FeedPage>;
}

/**
 * The feed's cursor after `change`: the position a message cut short before the end of a page
 * resumes from. The feed's cursors are the decimal `seq` of the last change read; this is the one
 * place that relies on it.
 */
export const feedCursorAfter = (change: Pick<FeedChange, 'seq'>): string => String(change.seq);

/** The feed's "cursor older than retention" error (by name: the class lives with the feed). */
export const isCursorExpired = (err: unknown): boolean =>
  err instanceof Error && err.name === 'CursorExpiredError';
