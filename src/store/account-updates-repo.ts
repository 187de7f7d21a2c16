/**
 * `account_updates`: an append-only log per account of its state changes (degraded, disconnected
 * with the reason, a profile needing re-authorization, active again), written by the account's
 * activities, read by webhook delivery (`account.updated`). Each entry has the account's next
 * `seq`: an entry is inserted with the last seq + 1 and a unique index refuses a second one, so
 * seqs have no gaps and readers following `seq` never skip one being written.
 */
import type { Collection } from 'mongodb';
import type { AccountUpdate } from '../webhooks/messages.js';
import type { AccountUpdateDoc } from './db.js';

export type { AccountUpdateDoc } from './db.js';

export class AccountUpdatesRepo {
  constructor(private readonly updates: Collection<AccountUpdateDoc>) {}

  async last(accountId: string): Promise<AccountUpdateDoc | null> {
    return this.updates.findOne({ accountId }, { sort: { seq: -1 } });
  }

  /** The latest entry that carried profiles (what a new UserInfo reading is compared with). */
  async lastProfiles(accountId: string): Promise<AccountUpdateDoc | null> {
    return this.updates.findOne({ accountId, profiles: { $type: 'array' } }, { sort: { seq: -1 } });
  }

  async append(u: Omit<AccountUpdate, 'seq'>): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const seq = ((await this.last(u.accountId))?.seq ?? 0) + 1;
      try {
        await this.updates.insertOne({
          accountId: u.accountId,
          seq,
          state: u.state,
          reason: u.reason ?? null,
          ...(u.profiles ? { profiles: u.profiles } : {}),
          at: u.at,
        });
        return seq;
      } catch (err) {
        // Another writer took this seq: read the last one again.
        if ((err as { code?: number }).code !== 11000 || attempt >= 10) throw err;
      }
    }
  }

  /** Entries after `seq`, in order. */
  async after(accountId: string, seq: number, limit: number): Promise<AccountUpdate[]> {
    const docs = await this.updates
      .find({ accountId, seq: { $gt: seq } })
      .sort({ seq: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => ({
      accountId: d.accountId,
      seq: d.seq,
      state: d.state,
      reason: d.reason,
      ...(d.profiles ? { profiles: d.profiles } : {}),
      at: d.at,
    }));
  }

  /**
   * Retention (FEED_RETENTION, with the change feed): entries older than `cutoff` go, except each
   * account's latest (the next entry's seq continues from it). A webhook that far behind is paused
   * anyway, its feed cursor being past the feed's retention.
   */
  async prune(cutoff: Date): Promise<{ accountUpdates: number }> {
    let n = 0;
    const ids = (await this.updates.distinct('accountId', { at: { $lt: cutoff } })) as string[];
    for (const accountId of ids) {
      const last = await this.last(accountId);
      if (!last) continue;
      n += (await this.updates.deleteMany({ accountId, at: { $lt: cutoff }, seq: { $lt: last.seq } }))
        .deletedCount;
    }
    return { accountUpdates: n };
  }

  async deleteAccount(accountId: string): Promise<number> {
    return (await this.updates.deleteMany({ accountId })).deletedCount;
  }
}
