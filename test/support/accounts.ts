/**
 * Account helpers for tests on the whole stack: register a simulator account through the admin
 * API (and wait for its initial full sync), and wait until its workflow is quiet (no notification
 * pending, no sync running), so that what a test does next is read by a sync of its own.
 */
import { expect } from 'vitest';
import type { SimAccount } from '../../src/simulator/index.js';
import { eventually, type Stack } from './stack.js';

/** `POST /accounts` for a simulator account; `extra` adds fields (calendarIds, dataCenter). */
export async function registerAccount(
  stack: Stack,
  account: SimAccount,
  extra: Record<string, unknown> = {},
) {
  const res = await stack.admin('POST', '/accounts', {
    accountId: account.accountId,
    accessToken: account.accessToken,
    refreshToken: account.refreshToken,
    ...extra,
  });
  expect([200, 201]).toContain(res.status);
  return res;
}

/**
 * `n` events `first-0`…`first-<n-1>` ("first 0"…) in `cal_work`, one a day from tomorrow, an hour
 * each, made in the simulator without a push: what the account's initial full sync reads.
 */
export function seedEvents(stack: Stack, account: SimAccount, n: number) {
  const day = 86_400_000;
  const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
  for (let i = 0; i < n; i++) {
    stack.sim.upsertEvent(
      account.accountId,
      {
        calendar_id: 'cal_work',
        event_uid: `first-${i}`,
        summary: `first ${i}`,
        start: iso(Date.now() + (i + 1) * day),
        end: iso(Date.now() + (i + 1) * day + 3_600_000),
      },
      { notify: false },
    );
  }
}

/** Registers the account and waits for its initial full sync to succeed. */
export async function registerAndSync(
  stack: Stack,
  account: SimAccount,
  extra: Record<string, unknown> = {},
) {
  await registerAccount(stack, account, extra);
  await eventually(
    () =>
      stack.db
        .collection('sync_runs')
        .findOne({ accountId: account.accountId, kind: 'full', outcome: 'succeeded' }),
    20_000,
    'initial full sync',
  );
}

/** No notification pending and no sync running: every notified change has been read. */
export function quiet(stack: Stack, accountId: string, label: string) {
  return eventually(
    async () => {
      const s = await stack.api.workflows.status(accountId);
      return s.pending.notifications === 0 && s.pending.requested.length === 0 && s.running === null;
    },
    20_000,
    label,
  );
}
