/**
 * Issue 13 item 1: an event moved out of the sync window. Cronofy documents that a Read Events
 * without `include_moved=true` returns only events currently inside from/to, so the move is
 * invisible to it; the simulator does the same. The whole service, on real servers: after the
 * notified incremental sync, each moved meeting must be in MongoDB at its new time, not deleted,
 * and a full sync afterwards must not tombstone it; a move no push announced is repaired (not
 * tombstoned) by the full sync.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareWithTruth, converged } from '../../scripts/lib/convergence.js';
import type { CronofyEvent } from '../../src/cronofy/types.js';
import type { SimAccount } from '../../src/simulator/index.js';
import { quiet as quietAccount, registerAndSync } from '../support/accounts.js';
import { eventually, type Stack, startStack } from '../support/stack.js';

const DAY = 86_400_000;
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/** 10:00 UTC on the next Tuesday after today (never today). */
function nextTuesdayAt10(): number {
  const d = new Date();
  d.setUTCHours(10, 0, 0, 0);
  do d.setTime(d.getTime() + DAY);
  while (d.getUTCDay() !== 2);
  return d.getTime();
}

describe('events moved out of the sync window', () => {
  let stack: Stack;
  let account: SimAccount;

  beforeAll(async () => {
    stack = await startStack({ sim: { rateLimit: false } });
    account = stack.sim.createAccount({ calendarIds: ['cal_moves'] });
    await registerAndSync(stack, account);
  });
  afterAll(async () => {
    await stack?.close();
  });

  const quiet = (label: string) => quietAccount(stack, account.accountId, label);

  it('a meeting moved from next Tuesday to +250 days, and one to before -42 days, keep their new times', async () => {
    const { sim, db } = stack;
    const tuesday = nextTuesdayAt10();
    const meeting = (summary: string, hourOffset: number): CronofyEvent =>
      sim.upsertEvent(account.accountId, {
        calendar_id: 'cal_moves',
        summary,
        start: iso(tuesday + hourOffset * 3_600_000),
        end: iso(tuesday + (hourOffset + 1) * 3_600_000),
      });
    const toFuture = meeting('moved to +250 days', 0);
    const toPast = meeting('moved to before -42 days', 4);
    const events = db.collection('events');
    await eventually(
      () => events.countDocuments({ accountId: account.accountId, deleted: false }).then((n) => n === 2),
      20_000,
      'both meetings stored at next Tuesday',
    );
    await quiet('quiet before the moves');

    // Exactly now, not a little earlier: the run that stored the meetings may have started just
    // before, and must not be taken for the one the moves trigger.
    const movedAt = new Date();
    const farFuture = Date.now() + 250 * DAY;
    const farPast = Date.now() - 60 * DAY;
    sim.upsertEvent(account.accountId, {
      ...toFuture,
      start: iso(farFuture),
      end: iso(farFuture + 3_600_000),
    });
    sim.upsertEvent(account.accountId, {
      ...toPast,
      start: iso(farPast),
      end: iso(farPast + 3_600_000),
    });

    // The moves are notified: wait for the incremental sync they trigger to finish, then look.
    await eventually(
      () =>
        db.collection('sync_runs').findOne({
          accountId: account.accountId,
          kind: 'incremental',
          outcome: 'succeeded',
          startedAt: { $gte: movedAt },
        }),
      20_000,
      'the incremental sync after the moves',
    );
    await quiet('quiet after the moves');

    const future = await events.findOne({ accountId: account.accountId, eventUid: toFuture.event_uid });
    expect(future).toMatchObject({ deleted: false, startAt: new Date(iso(farFuture)) });
    const past = await events.findOne({ accountId: account.accountId, eventUid: toPast.event_uid });
    expect(past).toMatchObject({ deleted: false, startAt: new Date(iso(farPast)) });
    expect(converged(await compareWithTruth(db, sim, account.accountId))).toBe(true);

    // A full sync reads with include_moved too: both come back (at their new times), so its
    // reconciliation does not take them for events gone from Cronofy.
    const full = await stack.api.workflows.syncNow(account.accountId, 'full');
    expect(full).toMatchObject({ kind: 'full', deleted: 0 });
    for (const e of [toFuture, toPast]) {
      const doc = await events.findOne({ accountId: account.accountId, eventUid: e.event_uid });
      expect(doc).toMatchObject({ deleted: false });
      expect(doc?.reconciledDeletedAt).toBeUndefined();
    }
    expect(converged(await compareWithTruth(db, sim, account.accountId))).toBe(true);
  });

  it('a full sync moves, not tombstones, an event whose move out of the window it is the first to see', async () => {
    const { sim, db } = stack;
    await quiet('quiet before');
    const tuesday = nextTuesdayAt10() + 2 * 3_600_000;
    const e = sim.upsertEvent(account.accountId, {
      calendar_id: 'cal_moves',
      summary: 'moved without a notification',
      start: iso(tuesday),
      end: iso(tuesday + 3_600_000),
    });
    const events = db.collection('events');
    await eventually(
      () => events.findOne({ accountId: account.accountId, eventUid: e.event_uid, deleted: false }),
      20_000,
      'stored at next Tuesday',
    );
    await quiet('quiet after storing it');
    // No push (a change Cronofy did not notify, or one whose push was lost): only a full read can
    // find it, and only with include_moved, since it is no longer inside the window.
    const far = Date.now() + 230 * DAY;
    sim.upsertEvent(
      account.accountId,
      { ...e, start: iso(far), end: iso(far + 3_600_000) },
      { notify: false },
    );
    const full = await stack.api.workflows.syncNow(account.accountId, 'full');
    expect(full).toMatchObject({ kind: 'full', deleted: 0, upserted: 1 });
    const doc = await events.findOne({ accountId: account.accountId, eventUid: e.event_uid });
    expect(doc).toMatchObject({ deleted: false, startAt: new Date(iso(far)) });
    expect(converged(await compareWithTruth(db, sim, account.accountId))).toBe(true);
  });
});
