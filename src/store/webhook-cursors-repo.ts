/**
 * `webhook_cursors`: per webhook and account, how far delivery has got in each stream (the change
 * feed's cursor, the account updates' seq) and the message in flight. A message is stored here,
 * with its id, timestamp and exact body, before its first attempt: every retry sends it again
 * byte for byte under the same `webhook-id`, until a 2xx moves the cursors past it.
 *
 * `generation` is bumped by a replay: an attempt that was in flight when the cursor was moved
 * must not move it forward again when it succeeds late (`acknowledge` checks it).
 */
import type { Collection } from 'mongodb';
import type { CursorAdvance } from '../webhooks/messages.js';
import type { PendingWebhookMessage, WebhookCursorDoc } from './db.js';

export type { PendingWebhookMessage, WebhookCursorDoc } from './db.js';

export const cursorId = (webhookId: string, accountId: string): string => `${webhookId}:${accountId}`;

export class WebhookCursorsRepo {
  constructor(
    private readonly cursors: Collection<WebhookCursorDoc>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The cursor, created at the beginning of both streams when the webhook first reaches the account. */
  async getOrCreate(webhookId: string, accountId: string): Promise<WebhookCursorDoc> {
    const _id = cursorId(webhookId, accountId);
    const doc = await this.cursors.findOneAndUpdate(
      { _id },
      {
        $setOnInsert: {
          webhookId,
          accountId,
          feedCursor: null,
          updatesSeq: 0,
          generation: 0,
          pending: null,
          deliveredAt: null,
          createdAt: this.now(),
        },
      },
      { upsert: true, returnDocument: 'after' },
    );
    return normalize(doc as WebhookCursorDoc);
  }

  /** Stores the next message before its first attempt; false when the cursor moved meanwhile. */
  async setPending(doc: WebhookCursorDoc, pending: PendingWebhookMessage): Promise<boolean> {
    const res = await this.cursors.updateOne(
      { _id: doc._id, generation: doc.generation, pending: null },
      { $set: { pending } },
    );
    return res.modifiedCount === 1;
  }

  async countAttempt(id: string, msgId: string): Promise<void> {
    await this.cursors.updateOne({ _id: id, 'pending.msgId': msgId }, { $inc: { 'pending.attempts': 1 } });
  }

  /** The receiver acknowledged `msgId`: the cursors move past it and nothing is pending. */
  async acknowledge(
    id: string,
    msg: { msgId: string; generation: number; advance: CursorAdvance },
  ): Promise<boolean> {
    const res = await this.cursors.updateOne(
      { _id: id, generation: msg.generation, 'pending.msgId': msg.msgId },
      {
        $set: {
          pending: null,
          deliveredAt: this.now(),
          ...(msg.advance.feedCursor !== undefined ? { feedCursor: msg.advance.feedCursor } : {}),
          ...(msg.advance.updatesSeq !== undefined ? { updatesSeq: msg.advance.updatesSeq } : {}),
        },
      },
    );
    return res.modifiedCount === 1;
  }

  /**
   * Replay: the feed cursor goes back to `after` (null: the beginning), the pending message is
   * dropped (it is rebuilt from the new position) and in-flight attempts lose their claim.
   */
  async replay(webhookId: string, accountId: string, after: string | null): Promise<void> {
    await this.getOrCreate(webhookId, accountId);
    await this.cursors.updateOne(
      { _id: cursorId(webhookId, accountId) },
      { $set: { feedCursor: after, pending: null }, $inc: { generation: 1 } },
    );
  }

  async forWebhook(webhookId: string): Promise<WebhookCursorDoc[]> {
    return (await this.cursors.find({ webhookId }).sort({ accountId: 1 }).toArray()).map(normalize);
  }

  async deleteWebhook(webhookId: string): Promise<number> {
    return (await this.cursors.deleteMany({ webhookId })).deletedCount;
  }
}

/** FerretDB 1.x drops null fields written by an upsert's `$setOnInsert`: read them back as null. */
function normalize(doc: WebhookCursorDoc): WebhookCursorDoc {
  return {
    ...doc,
    feedCursor: doc.feedCursor ?? null,
    updatesSeq: doc.updatesSeq ?? 0,
    generation: doc.generation ?? 0,
    pending: doc.pending ?? null,
    deliveredAt: doc.deliveredAt ?? null,
  };
}
