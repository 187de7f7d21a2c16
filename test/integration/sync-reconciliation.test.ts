/**
 * Issue 13 item 3, the page chain: a full sync tombstones only what a complete page chain, confirmed
 * with Cronofy, proves gone. Cronofy computes pages live, so an event moved between two page
 * fetches can be missed (or, with offset paging, make an unchanged event be missed), and a chain
 * can end before its last page. The whole service on real servers; the moves happen at a chosen
 * page through the simulator's `afterPage` hook, with no push, so only the full sync can see them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareWithTruth, converged } from '../../scripts/lib/convergence.js';
import type { CronofyEvent } from '../../src/cronofy/types.js';
import type { SimAccount } from '../../src/simulator/index.js';
import { type Stack, startStack } from '../support/stack.js';
import { at, lastFullRun, registeredWith, slot, stored } from './support/reconciliation.js';

describe('full-sync reconciliation and the page chain', () => {
  let stack: Stack;

  beforeAll(async () => {
    // Three events a page, so nine events make a three-page chain.
    stack = await startStack({ sim: { rateLimit: false, pageSize: 3 } });
  });
  afterEach(() => {
    stack.sim.clearFaults();
    stack.sim.setPaging({ pageSize: 3, paging: 'keyset' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const move = (account: SimAccount, e: CronofyEvent, startMs: number) =>
    stack.sim.upsertEvent(account.accountId, { ...e, ...slot(startMs) }, { notify: false });

  for (const paging of ['keyset', 'offset'] as const) {
    it(`${paging} paging: an event moved from a page not yet read to one already read is not tombstoned`, async () => {
      const { account, events } = await registeredWith(stack, 9);
      stack.sim.setPaging({ paging });
      // Once page 1 (p0..p2) is served, p7 moves between p0 and p1: into the part already read.
      const p7 = events[7]!;
      const newStart = at(2, 12);
      stack.sim.afterPage(account.accountId, 1, () => move(account, p7, newStart));

      const full = await stack.api.workflows.syncNow(account.accountId, 'full');
      expect(full).toMatchObject({ kind: 'full', deleted: 0 });
      expect(await stored(stack, account.accountId, p7.event_uid)).toMatchObject({
        deleted: false,
        startAt: new Date(newStart),
      });
      // The chain missed it; the confirming read found it changed during the sync.
      expect((await lastFullRun(stack, account.accountId)).reconciliation).toMatchObject({
        outcome: 'tombstoned',
        candidates: 1,
        confirmedChanged: 1,
        tombstoned: 0,
      });
      expect(converged(await compareWithTruth(stack.db, stack.sim, account.accountId))).toBe(true);
    });
  }

  it('offset paging: an unchanged event skipped because another moved is not tombstoned', async () => {
    const { account, events } = await registeredWith(stack, 9);
    stack.sim.setPaging({ paging: 'offset' });
    // After page 1, p1 (already read) moves after p5: the rest shift left by one, and p3, which
    // never changes, slides into the part already read. No read by last_modified can show p3.
    const p3 = events[3]!;
    stack.sim.afterPage(account.accountId, 1, () => move(account, events[1]!, at(7, 12)));

    const full = await stack.api.workflows.syncNow(account.accountId, 'full');
    expect(full).toMatchObject({ kind: 'full', deleted: 0 });
    expect(await stored(stack, account.accountId, p3.event_uid)).toMatchObject({
      deleted: false,
      summary: 'p3',
    });
    // Something changed during the chain, so it was not trusted: a re-read of the window found p3.
    expect((await lastFullRun(stack, account.accountId)).reconciliation).toMatchObject({
      outcome: 'tombstoned',
      candidates: 1,
      seenOnReread: 1,
      tombstoned: 0,
    });
    expect(converged(await compareWithTruth(stack.db, stack.sim, account.accountId))).toBe(true);
  });

  it('a chain that ends before its last page deletes nothing, and keeps what it read', async () => {
    const { account, events } = await registeredWith(stack, 9);
    // A change no push announced, on page 1: the sync must still write it.
    const renamed = stack.sim.upsertEvent(
      account.accountId,
      { ...events[0]!, summary: 'renamed' },
      { notify: false },
    );
    // Page 2 comes without next_page although it says 2 of 3: p6..p8 are never served.
    const fault = stack.sim.injectFault({ path: /^\/v1\/events\/pages\//, endChain: true, times: 1 });

    const full = await stack.api.workflows.syncNow(account.accountId, 'full');
    expect(fault.remaining()).toBe(0);
    expect(full).toMatchObject({ kind: 'full', deleted: 0, upserted: 1 });
    for (const e of events) {
      expect(await stored(stack, account.accountId, e.event_uid)).toMatchObject({ deleted: false });
    }
    expect(await stored(stack, account.accountId, renamed.event_uid)).toMatchObject({ summary: 'renamed' });
    const run = await lastFullRun(stack, account.accountId);
    expect(run).toMatchObject({
      outcome: 'succeeded',
      reconciliation: {
        outcome: 'skipped',
        reason: 'chain_incomplete',
        tombstoned: 0,
        chain: { pagesRead: 2, current: 2, total: 3 },
      },
    });
  });
});
