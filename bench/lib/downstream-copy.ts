/**
 * A downstream service's copy of the synced events, built only from what the service hands out
 * (the change feed, or webhook deliveries), and its comparison with `events`: the check that a
 * consumer ends holding exactly what `events` holds. Used by the chaos run and the benchmarks.
 */
import type { Db } from 'mongodb';
import { storedEventsByAccount } from './stored-events.js';

/** The fields of a change's `event` that tell versions apart (`syncedAt` changes with every write). */
export interface CopiedEvent {
  eventUid: string;
  calendarId: string;
  deleted: boolean;
  summary: string | null;
  syncedAt: string;
}

/** A change as the feed (JSON) and `events.changed` messages carry it. */
export interface ChangeJson {
  seq: number;
  op: 'upsert' | 'delete';
  eventUid: string;
  event: { calendarId: string; deleted: boolean; summary: string | null; syncedAt: string };
}

export interface CopyComparison {
  /** In `events`, not in the copy. */
  missing: number;
  /** In both, another version. */
  stale: number;
  /** In the copy, not in `events`. */
  phantom: number;
}

export class DownstreamCopy {
  private readonly accounts = new Map<string, Map<string, CopiedEvent>>();
  private readonly lastSeq = new Map<string, number>();
  private readonly seen = new Map<string, Set<number>>();
  /** Changes applied (each seq once, in order). */
  applied = 0;
  /** A seq below the account's last that had never come: it arrived after a later one. */
  outOfOrder = 0;
  /** A seq that had come before (at-least-once delivery: harmless, skipped). */
  repeated = 0;

  apply(accountId: string, changes: readonly ChangeJson[]): void {
    const copy = this.accounts.get(accountId) ?? new Map<string, CopiedEvent>();
    this.accounts.set(accountId, copy);
    const seen = this.seen.get(accountId) ?? new Set<number>();
    this.seen.set(accountId, seen);
    for (const ch of changes) {
      const last = this.lastSeq.get(accountId) ?? 0;
      if (seen.has(ch.seq)) {
        this.repeated += 1;
        continue;
      }
      seen.add(ch.seq);
      if (ch.seq < last) {
        this.outOfOrder += 1;
        continue;
      }
      this.lastSeq.set(accountId, ch.seq);
      this.applied += 1;
      copy.set(ch.eventUid, {
        eventUid: ch.eventUid,
        calendarId: ch.event.calendarId,
        deleted: ch.op === 'delete',
        summary: ch.event.summary,
        syncedAt: new Date(ch.event.syncedAt).toISOString(),
      });
    }
  }

  cursor(accountId: string): number {
    return this.lastSeq.get(accountId) ?? 0;
  }

  /** The copy against `events`, tombstones included, for `accountIds`. */
  async compare(db: Db, accountIds: readonly string[]): Promise<CopyComparison & { differences: string[] }> {
    const out = { missing: 0, stale: 0, phantom: 0, differences: [] as string[] };
    const stored = new Map<string, Map<string, CopiedEvent>>();
    for (const [accountId, docs] of await storedEventsByAccount(db, accountIds, [
      'calendarId',
      'deleted',
      'summary',
      'syncedAt',
    ])) {
      const m = new Map<string, CopiedEvent>();
      for (const d of docs.values()) {
        m.set(d.eventUid, {
          eventUid: d.eventUid,
          calendarId: d.calendarId,
          deleted: d.deleted,
          summary: d.summary,
          syncedAt: d.syncedAt.toISOString(),
        });
      }
      stored.set(accountId, m);
    }
    for (const accountId of accountIds) {
      const want = stored.get(accountId) ?? new Map<string, CopiedEvent>();
      const have = this.accounts.get(accountId) ?? new Map<string, CopiedEvent>();
      for (const [uid, w] of want) {
        const h = have.get(uid);
        if (!h) {
          out.missing += 1;
          out.differences.push(`${accountId}/${uid}: missing`);
        } else if (JSON.stringify(h) !== JSON.stringify(w)) {
          out.stale += 1;
          out.differences.push(
            `${accountId}/${uid}: have ${JSON.stringify(h)}, events has ${JSON.stringify(w)}`,
          );
        }
      }
      for (const uid of have.keys()) {
        if (!want.has(uid)) {
          out.phantom += 1;
          out.differences.push(`${accountId}/${uid}: phantom`);
        }
      }
    }
    return out;
  }
}

/**
 * Follows the change feed of `accountIds` over HTTP into a DownstreamCopy, every `intervalMs`,
 * riding out failures (the API restarting, MongoDB down: it tries again next time). `drain()`
 * reads every account to the feed's current end.
 */
export function followFeed(o: {
  apiUrl: string;
  adminToken: string;
  accountIds: () => readonly string[];
  intervalMs: number;
  limit?: number;
}) {
  const copy = new DownstreamCopy();
  const stats = { pages: 0, errors: 0 };
  let stopped = false;
  const readAccount = async (accountId: string): Promise<void> => {
    for (;;) {
      const after = copy.cursor(accountId);
      const q = `limit=${o.limit ?? 50}${after > 0 ? `&after=${after}` : ''}`;
      const res = await fetch(`${o.apiUrl}/accounts/${encodeURIComponent(accountId)}/changes?${q}`, {
        headers: { authorization: `Bearer ${o.adminToken}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 200) throw new Error(`changes of ${accountId}: ${res.status} ${await res.text()}`);
      const page = (await res.json()) as { changes: ChangeJson[]; hasMore: boolean };
      stats.pages += 1;
      copy.apply(accountId, page.changes);
      if (!page.hasMore) return;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      for (const id of o.accountIds()) {
        if (stopped) break;
        await readAccount(id).catch(() => {
          stats.errors += 1;
        });
      }
      await new Promise((r) => setTimeout(r, o.intervalMs));
    }
  })();
  return {
    copy,
    stats,
    /** Stops following, then reads every account to the end (throws if the API cannot answer). */
    async drain(): Promise<void> {
      stopped = true;
      await loop;
      for (const id of o.accountIds()) await readAccount(id);
    },
    async stop(): Promise<void> {
      stopped = true;
      await loop;
    },
  };
}
