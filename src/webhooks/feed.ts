/**
 * What webhook delivery needs of the account change feed: the shape of a change and a reader.
 *
 * INJECTION POINT: the feed itself (src/store/change-feed.ts, `ChangeFeed`) is being written on
 * main. Until it lands these local types mirror its announced interface, and the worker takes the
 * reader as a dependency (`startWorker(config, { changeFeed })`); without one, webhooks deliver
 * `account.updated` messages only. Once the feed is merged, `ChangeFeed` satisfies `FeedReader`
 * structurally and runtime.ts constructs it with `onAppended` wired to the `WebhookWaker`.
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
