/**
 * Periodic-timer maths. Pure and deterministic (safe inside workflow code): no clock, no randomness.
 *
 * Each account's periodic syncs fall on a fixed grid `offset + k × interval` (epoch-aligned), with
 * the offset derived from a hash of the account id. Accounts therefore spread evenly across the
 * interval, an account's slots do not drift when syncs run late or the workflow continues-as-new,
 * and no schedule state needs carrying.
 */

/**
 * FNV-1a 32-bit followed by murmur3's finaliser. FNV alone leaves the high bits poorly mixed for
 * ids that differ only in their last characters (`acc_1`, `acc_2`, ...), which bunched accounts
 * into a few days of the week; the finaliser spreads them evenly (see the schedule unit test).
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Deterministic per-account fraction in [0, 1). `salt` decorrelates different timers. */
export function jitterFraction(accountId: string, salt: string): number {
  return hash32(`${salt}:${accountId}`) / 0x1_0000_0000;
}

/** The account's offset within one interval. */
export function jitterOffset(accountId: string, salt: string, intervalMs: number): number {
  return Math.floor(jitterFraction(accountId, salt) * intervalMs);
}

/** The first grid point strictly after `nowMs`. */
export function nextSlot(nowMs: number, intervalMs: number, offsetMs: number): number {
  const k = Math.floor((nowMs - offsetMs) / intervalMs) + 1;
  return offsetMs + k * intervalMs;
}

export const FULL_SYNC_SALT = 'full';
export const WINDOW_EDGE_SALT = 'window-edge';

export function nextFullSyncAt(accountId: string, nowMs: number, intervalMs: number): number {
  return nextSlot(nowMs, intervalMs, jitterOffset(accountId, FULL_SYNC_SALT, intervalMs));
}

export function nextWindowEdgeAt(accountId: string, nowMs: number, intervalMs: number): number {
  return nextSlot(nowMs, intervalMs, jitterOffset(accountId, WINDOW_EDGE_SALT, intervalMs));
}

/** Backoff for workflow-level retries of a failing sync (auth errors): 1 min doubling to 1 h. */
export function failureRetryDelay(failures: number): number {
  return Math.min(3_600_000, 60_000 * 2 ** Math.max(0, failures - 1));
}
