/**
 * Debounce of change notifications. Pure data and functions (no Temporal, no clock): the workflow
 * feeds it notifications and asks when the incremental sync is due.
 *
 * Trailing debounce with a cap: due `quietMs` after the last notification, but never later than
 * `maxMs` after the first pending one, so a steady stream cannot postpone the sync forever.
 */
import { isIsoTime } from '../lib/time.js';

export interface PendingChanges {
  count: number;
  /** Earliest `changes_since` among pending notifications: the sync's `last_modified`. */
  earliestChangesSince: string | null;
  /** A change came without a usable `changes_since`: read from the last watermark instead. */
  needsWatermark: boolean;
  firstAt: number | null;
  lastAt: number | null;
  /** Earliest receive time, for the freshness measurement. */
  earliestReceivedAt: string | null;
}

export const noPendingChanges = (): PendingChanges => ({
  count: 0,
  earliestChangesSince: null,
  needsWatermark: false,
  firstAt: null,
  lastAt: null,
  earliestReceivedAt: null,
});

function earlier(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}

/** Fold one change notification in. Replays and duplicates only ever widen the read, never lose one. */
export function addChange(
  p: PendingChanges,
  change: { changesSince?: string | undefined; at: number; receivedAt: string },
): PendingChanges {
  const usable = change.changesSince !== undefined && isIsoTime(change.changesSince);
  return {
    count: p.count + 1,
    earliestChangesSince: usable
      ? earlier(p.earliestChangesSince, new Date(Date.parse(change.changesSince as string)).toISOString())
      : p.earliestChangesSince,
    needsWatermark: p.needsWatermark || !usable,
    firstAt: p.firstAt ?? change.at,
    lastAt: Math.max(p.lastAt ?? change.at, change.at),
    earliestReceivedAt: earlier(p.earliestReceivedAt, change.receivedAt),
  };
}

/** When the pending changes must be synced; `null` when nothing is pending. */
export function debounceDueAt(p: PendingChanges, opts: { quietMs: number; maxMs: number }): number | null {
  if (p.count === 0 || p.firstAt === null || p.lastAt === null) return null;
  return Math.min(p.lastAt + opts.quietMs, p.firstAt + opts.maxMs);
}

/**
 * `last_modified` for the incremental sync serving `p`: the earliest `changes_since`, or the
 * watermark when a notification lacked one (or the watermark is earlier). `null` = no safe bound,
 * the caller must fall back to a full read.
 */
export function lastModifiedFor(p: PendingChanges, watermark: string | null): string | null {
  if (p.needsWatermark) return watermark === null ? null : earlier(p.earliestChangesSince, watermark);
  return p.earliestChangesSince;
}

/** Put back changes taken for a sync that failed, merged with those that arrived meanwhile. */
export function mergePending(a: PendingChanges, b: PendingChanges): PendingChanges {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  return {
    count: a.count + b.count,
    earliestChangesSince: earlier(a.earliestChangesSince, b.earliestChangesSince),
    needsWatermark: a.needsWatermark || b.needsWatermark,
    firstAt: Math.min(a.firstAt ?? Number.POSITIVE_INFINITY, b.firstAt ?? Number.POSITIVE_INFINITY),
    lastAt: Math.max(a.lastAt ?? 0, b.lastAt ?? 0),
    earliestReceivedAt: earlier(a.earliestReceivedAt, b.earliestReceivedAt),
  };
}
