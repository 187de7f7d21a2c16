/**
 * The account workflow against the Cronofy simulator and the MongoDB-protocol server: creates,
 * edits, moves and deletions in Cronofy all end up correct in `events`, through notifications,
 * token refresh, the window-edge timer and a manual full sync.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareWithTruth, converged } from '../../scripts/lib/convergence.js';
import type { SimAccount } from '../../src/simulator/index.js';
import { collections } from '../../src/store/db.js';
import { EventsRepo } from '../../src/store/events-repo.js';
import { quiet, registerAndSync } from '../support/accounts.js';
import { eventually, type Stack, startStack } from '../support/stack.js';

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
function slot(daysAhead: number, hour: number): { start: string; end: string } {
  const d = new Date(Date.now() + daysAhead * DAY);
  d.setUTCHours(hour, 0, 0, 0);
  return { start: iso(d.getTime()), end: iso(d.getTime() + 3_600_000) };
}

describe('sync convergence with the simulator', () => {
  let stack: Stack;
  let account: SimAccount;

  beforeAll(async () => {
    // A short window-edge interval so the edge timer fires within the test.
    stack = await startStack({ env: { WINDOW_EDGE_INTERVAL: '3s' }, sim: { rateLimit: false } });
    account = stack.sim.createAccount({ calendarIds: ['cal_a', 'cal_b'] });
    // Events that exist before registration arrive with the initial full sync.
    stack.sim.upsertEvent(
      account.accountId,
      { calendar_id: 'cal_a', summary: 'pre-existing', ...slot(1, 8) },
      { notify: false },
    );
    await registerAndSync(stack, account);
  });
  afterAll(async () => {
    await stack?.close();
  });

  const settle = (label: string) =>
    eventually(
      async () => converged(await compareWithTruth(stack.db, stack.sim, account.accountId)),
      20_000,
      label,
    );

  it('the initial full sync brought the existing event', async () => {
    const doc = await stack.db
      .collection('events')
      .findOne({ accountId: account.accountId, summary: 'pre-existing' });
    expect(doc).not.toBeNull();
  });

  it('creates, edits, moves and deletes converge through notifications', async () => {
    const { sim } = stack;
    const id = account.accountId;
    const created = Array.from({ length: 12 }, (_, i) =>
      sim.upsertEvent(id, {
        calendar_id: i % 2 ? 'cal_a' : 'cal_b',
        summary: `event ${i}`,
        ...slot(2 + i, 10),
      }),
    );
    await settle('creates');

    sim.upsertEvent(id, { ...created[0]!, summary: 'renamed' });
    sim.upsertEvent(id, { ...created[1]!, ...slot(30, 15) }); // moved a month ahead
    sim.upsertEvent(id, {
      ...created[2]!,
      start: slot(5, 0).start.slice(0, 10),
      end: slot(6, 0).start.slice(0, 10),
    }); // now all-day
    sim.deleteEvent(id, created[3]!.event_uid);
    sim.deleteEvent(id, created[4]!.event_uid);
    await settle('edits, moves, deletes');

    const events = stack.db.collection('events');
    expect(await events.findOne({ eventUid: created[0]!.event_uid })).toMatchObject({
      summary: 'renamed',
      deleted: false,
    });
    const moved = await events.findOne({ eventUid: created[1]!.event_uid });
    expect(moved?.startAt).toEqual(new Date(slot(30, 15).start));
    const allDay = await events.findOne({ eventUid: created[2]!.event_uid });
    expect(allDay).toMatchObject({ allDay: true });
    expect(allDay?.startAt).toEqual(new Date(`${slot(5, 0).start.slice(0, 10)}T00:00:00Z`));
    const tomb = await events.findOne({ eventUid: created[3]!.event_uid });
    expect(tomb).toMatchObject({ deleted: true, summary: 'event 3' }); // tombstone keeps what we knew

    // Bursts were coalesced: far fewer incremental syncs than changes.
    const incrementals = await stack.db
      .collection('sync_runs')
      .countDocuments({ accountId: id, kind: 'incremental' });
    expect(incrementals).toBeGreaterThanOrEqual(1);
    expect(incrementals).toBeLessThan(17);
  });

  it('an expired access token is refreshed, the rotated refresh token stored, and syncing goes on', async () => {
    const { sim } = stack;
    const before = await stack.db.collection('accounts').findOne({ _id: account.accountId as never });
    sim.expireAccessTokens(account.accountId);
    sim.upsertEvent(account.accountId, { calendar_id: 'cal_a', summary: 'after expiry', ...slot(3, 16) });
    await settle('after token expiry');
    const after = await stack.db.collection('accounts').findOne({ _id: account.accountId as never });
    expect(after?.tokenVersion).toBeGreaterThan(before?.tokenVersion);
    expect(JSON.stringify(after?.refreshToken)).not.toBe(JSON.stringify(before?.refreshToken));
    expect(sim.requests.some((r) => r.path === '/oauth/token' && r.status === 200)).toBe(true);
  });

  it('an event entering the far end of the window (no notification) arrives with the window-edge sync', async () => {
    const { sim } = stack;
    // Quiet first: an incremental sync still due from the previous test would read the new event
    // too (it reads the whole window by last_modified), and the window-edge run would find it unchanged.
    await settle('before the far event');
    await quiet(stack, account.accountId, 'no sync pending or running');
    const far = sim.upsertEvent(
      account.accountId,
      { calendar_id: 'cal_b', summary: 'far away', ...slot(197, 9) },
      { notify: false },
    );
    const doc = await eventually(
      () => stack.db.collection('events').findOne({ accountId: account.accountId, eventUid: far.event_uid }),
      20_000,
      'window-edge event',
    );
    expect(doc).toMatchObject({ summary: 'far away' });
    // The run records its outcome after its last page is written: wait for that too.
    const edgeRun = await eventually(
      () =>
        stack.db.collection('sync_runs').findOne({
          accountId: account.accountId,
          kind: 'window_edge',
          outcome: 'succeeded',
          upserted: { $gte: 1 },
        }),
      20_000,
      'the window-edge run that wrote it',
    );
    expect(edgeRun.params.from).toBeDefined();
  });

  it('a manual full sync on a converged account changes nothing', async () => {
    await settle('before full');
    const res = await stack.api.workflows.syncNow(account.accountId, 'full');
    expect(res.kind).toBe('full');
    expect(res.upserted).toBe(0);
    expect(res.deleted).toBe(0);
    expect(res.unchanged).toBeGreaterThan(10);
    expect(converged(await compareWithTruth(stack.db, stack.sim, account.accountId))).toBe(true);
  });

  it('a full sync tombstones a stored event that Cronofy no longer returns at all, and only that one', async () => {
    await settle('before phantom');
    // Stored here, unknown to Cronofy (its tombstone aged out there, say): only reconciliation finds it.
    const repo = new EventsRepo(collections(stack.db).events);
    const { start, end } = slot(3, 9);
    await repo.writePage(
      account.accountId,
      [
        {
          calendar_id: 'cal_a',
          event_uid: 'evt_phantom_only_here',
          summary: 'Gone from Cronofy',
          start,
          end,
          deleted: false,
          created: start,
          updated: start,
        },
      ],
      new Date(Date.now() - 60_000),
    );
    const live = await stack.db
      .collection('events')
      .countDocuments({ accountId: account.accountId, deleted: false });
    const res = await stack.api.workflows.syncNow(account.accountId, 'full');
    expect(res).toMatchObject({ kind: 'full', deleted: 1, upserted: 1 });
    expect(
      await stack.db
        .collection('events')
        .findOne({ accountId: account.accountId, eventUid: 'evt_phantom_only_here' }),
    ).toMatchObject({ deleted: true, summary: 'Gone from Cronofy', reconciledDeletedAt: expect.any(Date) });
    expect(
      await stack.db.collection('events').countDocuments({ accountId: account.accountId, deleted: false }),
    ).toBe(live - 1);
    expect(converged(await compareWithTruth(stack.db, stack.sim, account.accountId))).toBe(true);
  });
});
