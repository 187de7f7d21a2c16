/**
 * Helpers for the full-sync reconciliation tests: an account registered with events that exist
 * before registration (so the initial full sync stores them), a wait for a quiet workflow, and the
 * `sync_runs` entry of the latest full sync.
 */
import { expect } from 'vitest';
import type { CronofyEvent } from '../../../src/cronofy/types.js';
import type { CreateAccountOptions, SimAccount } from '../../../src/simulator/index.js';
import type { SyncRunDoc } from '../../../src/store/db.js';
import { quiet, registerAndSync } from '../../support/accounts.js';
import type { Stack } from '../../support/stack.js';

export { quiet };

const DAY = 86_400_000;
export const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/** `hour`:00 UTC, `days` days from today. */
export function at(days: number, hour: number): number {
  const d = new Date(Date.now() + days * DAY);
  d.setUTCHours(hour, 0, 0, 0);
  return d.getTime();
}

/** An hour-long slot starting at `startMs`. */
export const slot = (startMs: number) => ({ start: iso(startMs), end: iso(startMs + 3_600_000) });

/** Cronofy's `updated` for seeded events: older than any read margin, so no read takes them for new. */
export const TEN_MINUTES_AGO = () => iso(Date.now() - 10 * 60_000);

/**
 * A simulator account with `n` events `p0..p{n-1}` at 09:00 on consecutive days from day +2 on the
 * first calendar (in Read Events order), last changed ten minutes ago, registered and fully synced
 * once.
 */
export async function registeredWith(
  stack: Stack,
  n: number,
  opts: CreateAccountOptions = {},
): Promise<{ account: SimAccount; events: CronofyEvent[] }> {
  const account = stack.sim.createAccount(opts);
  const events = Array.from({ length: n }, (_, i) =>
    stack.sim.upsertEvent(
      account.accountId,
      { calendar_id: account.calendarIds[0]!, summary: `p${i}`, ...slot(at(2 + i, 9)) },
      { notify: false, updated: TEN_MINUTES_AGO() },
    ),
  );
  await registerAndSync(stack, account);
  await quiet(stack, account.accountId, 'quiet after registration');
  return { account, events };
}

/** The newest full sync's `sync_runs` entry. */
export async function lastFullRun(stack: Stack, accountId: string): Promise<SyncRunDoc> {
  const run = await stack.db
    .collection<SyncRunDoc>('sync_runs')
    .find({ accountId, kind: 'full' })
    .sort({ startedAt: -1 })
    .limit(1)
    .next();
  expect(run).not.toBeNull();
  return run as SyncRunDoc;
}

/** The stored copy of one event. */
export function stored(stack: Stack, accountId: string, eventUid: string) {
  return stack.db.collection('events').findOne({ accountId, eventUid });
}
