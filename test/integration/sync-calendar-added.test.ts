/**
 * Issue 13 item 2: a calendar added at re-registration (and one removed). Its events changed before the account's
 * watermark never arrive by catch-up (a `last_modified` read), so the workflow backfills the added
 * calendar with a full read of it. The whole service on real servers, against the simulator (whose
 * channels push only for the calendars in their filter, as Cronofy's do).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimAccount } from '../../src/simulator/index.js';
import { registerAccount, registerAndSync } from '../support/accounts.js';
import { eventually, type Stack, startStack } from '../support/stack.js';

const DAY = 86_400_000;
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

describe('a calendar added at re-registration', () => {
  let stack: Stack;
  let account: SimAccount;

  beforeAll(async () => {
    stack = await startStack({ sim: { rateLimit: false } });
    account = stack.sim.createAccount({ calendarIds: ['cal_work', 'cal_home'] });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is backfilled: its event last changed a week ago arrives', async () => {
    const start = Date.now() + 3 * DAY;
    // On the calendar not registered yet, last changed a week ago (no push: not in the filter).
    const old = stack.sim.upsertEvent(
      account.accountId,
      { calendar_id: 'cal_home', summary: 'dentist', start: iso(start), end: iso(start + 3_600_000) },
      { notify: false, updated: iso(Date.now() - 7 * DAY) },
    );
    await registerAndSync(stack, account, { calendarIds: ['cal_work'] });
    const events = stack.db.collection('events');
    expect(await events.findOne({ accountId: account.accountId, eventUid: old.event_uid })).toBeNull();

    expect((await registerAccount(stack, account, { calendarIds: ['cal_work', 'cal_home'] })).status).toBe(
      200,
    );
    const doc = await eventually(
      () => events.findOne({ accountId: account.accountId, eventUid: old.event_uid }),
      20_000,
      'the added calendar’s old event',
    );
    expect(doc).toMatchObject({ summary: 'dentist', calendarId: 'cal_home', deleted: false });
    // By a read of that calendar only, not a full sync of the account.
    const backfill = await stack.db
      .collection('sync_runs')
      .findOne({ accountId: account.accountId, kind: 'catch_up', 'params.calendarIds': ['cal_home'] });
    expect(backfill).not.toBeNull();
    expect(backfill?.params.lastModified ?? null).toBeNull();
    expect(
      await stack.db.collection('sync_runs').countDocuments({ accountId: account.accountId, kind: 'full' }),
    ).toBe(1);
  });

  it('a calendar removed at re-registration: its events become tombstones at once', async () => {
    const events = stack.db.collection('events');
    const home = await events.countDocuments({
      accountId: account.accountId,
      calendarId: 'cal_home',
      deleted: false,
    });
    expect(home).toBeGreaterThan(0);
    expect((await registerAccount(stack, account, { calendarIds: ['cal_work'] })).status).toBe(200);
    // No longer synced, they would go stale: tombstoned, without waiting for the next full sync.
    await eventually(
      async () =>
        (await events.countDocuments({
          accountId: account.accountId,
          calendarId: 'cal_home',
          deleted: false,
        })) === 0,
      20_000,
      'the removed calendar’s events tombstoned',
    );
    expect(
      await events.countDocuments({ accountId: account.accountId, calendarId: 'cal_work', deleted: true }),
    ).toBe(0);
    expect(
      await stack.db.collection('sync_runs').countDocuments({ accountId: account.accountId, kind: 'full' }),
    ).toBe(1);
  });

  it('a calendar removed while Cronofy refuses new channels: its events become tombstones after the next sync', async () => {
    const events = stack.db.collection('events');
    const liveHome = () =>
      events.countDocuments({ accountId: account.accountId, calendarId: 'cal_home', deleted: false });
    // cal_home back (its events restored by the backfill), then Cronofy refuses to create channels:
    // the workflow cannot replace the channel, which is how it used to learn of the next change.
    expect((await registerAccount(stack, account, { calendarIds: ['cal_work', 'cal_home'] })).status).toBe(
      200,
    );
    await eventually(async () => (await liveHome()) > 0, 20_000, 'cal_home restored');
    const refused = stack.sim.injectFault({
      method: 'POST',
      path: '/v1/channels',
      // Refused (4xx), not failing: the workflow retries the channel apart and syncs meanwhile.
      status: 422,
      times: 1_000,
    });
    try {
      expect((await registerAccount(stack, account, { calendarIds: ['cal_work'] })).status).toBe(200);
      const sync = await stack.admin('POST', `/accounts/${account.accountId}/sync?wait=true`, {
        mode: 'incremental',
      });
      expect(sync.status).toBe(200);
      await eventually(async () => (await liveHome()) === 0, 20_000, 'cal_home tombstoned after the sync');
      expect(refused.remaining()).toBeLessThan(1_000); // the channel was refused meanwhile
    } finally {
      refused.clear();
    }
  });
});
