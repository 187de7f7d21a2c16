/**
 * A change feed in memory with the announced `ChangeFeed` interface (src/webhooks/feed.ts), for
 * webhook tests until the real feed (src/store/change-feed.ts) lands: per account, `seq` from 1,
 * cursors the decimal seq of the last change read; `append` calls `onAppended` as the real one does.
 */
import type { FeedChange, FeedPage, FeedReader } from '../../src/webhooks/feed.js';

export class MemoryFeed implements FeedReader {
  private readonly changes = new Map<string, FeedChange[]>();
  onAppended: ((accountId: string, lastSeq: number) => Promise<unknown> | unknown) | undefined;

  async append(
    accountId: string,
    items: Array<{ eventUid: string; op?: 'upsert' | 'delete'; summary?: string }>,
  ): Promise<FeedChange[]> {
    const list = this.changes.get(accountId) ?? [];
    this.changes.set(accountId, list);
    const added = items.map((item) => {
      const seq = list.length + 1;
      const op = item.op ?? 'upsert';
      const change: FeedChange = {
        seq,
        op,
        eventUid: item.eventUid,
        calendarId: 'cal_work',
        event: {
          accountId,
          eventUid: item.eventUid,
          summary: item.summary ?? null,
          deleted: op === 'delete',
        },
        changedAt: new Date(),
      };
      list.push(change);
      return change;
    });
    await this.onAppended?.(accountId, list.length);
    return added;
  }

  all(accountId: string): FeedChange[] {
    return [...(this.changes.get(accountId) ?? [])];
  }

  async read(accountId: string, after: string | undefined, limit: number): Promise<FeedPage> {
    const from = after === undefined ? 0 : Number(after);
    const rest = (this.changes.get(accountId) ?? []).filter((c) => c.seq > from);
    const changes = rest.slice(0, limit);
    const last = changes[changes.length - 1];
    return { changes, nextCursor: String(last ? last.seq : from), hasMore: rest.length > changes.length };
  }
}
