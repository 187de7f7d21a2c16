/**
 * Issue 13 item 3, the guards, and the drift figure: a full sync that would tombstone more than the
 * mass-deletion bound tombstones nothing and says so; a full sync while a calendar profile is
 * disconnected (its events left out of Read Events) tombstones nothing; and every full sync
 * counts what it had to correct (0 on a converged account). The whole service on real servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareWithTruth, converged } from '../../scripts/lib/convergence.js';
import type { CronofyEvent } from '../../src/cronofy/types.js';
import { collections } from '../../src/store/db.js';
import { EventsRepo } from '../../src/store/events-repo.js';
import { type Stack, startStack } from '../support/stack.js';
import {
  at,
  lastFullRun,
  quiet,
  registeredWith,
  slot,
  stored,
  TEN_MINUTES_AGO,
} from './support/reconciliation.js';

/** Stored here only, unknown to Cronofy: what reconciliation finds (a deletion Cronofy never reported). */
async function storePhantoms(stack: Stack, accountId: string, n: number, calendarId: string) {
  const repo = new EventsRepo(collections(stack.db).events);
  const page: CronofyEvent[] = Array.from({ length: n }, (_, i) => ({
    calendar_id: calendarId,
    event_uid: `evt_phantom_${i}`,
    summary: `phantom ${i}`,
    ...slot(at(3 + (i % 100), 14)),
    deleted: false,
    updated: TEN_MINUTES_AGO(),
  }));
  await repo.writePage(accountId, page, new Date(Date.now() - 60_000));
  return page;
}

async function metric(stack: Stack, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await stack.worker.metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return v?.value ?? 0;
}

describe('full-sync reconciliation guards and drift', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ sim: { rateLimit: false } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a deletion beyond the bound is withheld, reported, and applied by none', async () => {
    const { account } = await registeredWith(stack, 3);
    const phantoms = await storePhantoms(stack, account.accountId, 60, account.calendarIds[0]!);
    const withheldBefore = await metric(stack, 'cronofy_reconciliations_total', { outcome: 'withheld' });

    const full = await stack.api.workflows.syncNow(account.accountId, 'full');
    expect(full).toMatchObject({ kind: 'full', deleted: 0 });
    // 60 of 63 live events would go: above max(50, 10 %).
    expect(
      await stack.db
        .collection('events')
        .countDocuments({ accountId: account.accountId, deleted: false, eventUid: /^evt_phantom_/ }),
    ).toBe(phantoms.length);
    expect((await lastFullRun(stack, account.accountId)).reconciliation).toMatchObject({
      outcome: 'withheld',
      reason: 'mass_deletion',
      candidates: 60,
      kept: 60,
      limit: 50,
      tombstoned: 0,
    });
    expect(await metric(stack, 'cronofy_reconciliations_total', { outcome: 'withheld' })).toBe(
      withheldBefore + 1,
    );
  });

  it('nothing is tombstoned while a profile is disconnected; after reconnection all is kept', async () => {
    const { account, events } = await registeredWith(stack, 2, {
      profiles: [
        { profileId: 'pro_work', calendarIds: ['cal_work'] },
        { profileId: 'pro_home', calendarIds: ['cal_home'] },
      ],
    });
    const home = stack.sim.upsertEvent(
      account.accountId,
      { calendar_id: 'cal_home', summary: 'home', ...slot(at(4, 18)) },
      { notify: false, updated: TEN_MINUTES_AGO() },
    );
    await stack.api.workflows.syncNow(account.accountId, 'full');
    expect(await stored(stack, account.accountId, home.event_uid)).toMatchObject({ deleted: false });

    // Cronofy lost the home profile's authorization; the simulator leaves its events out of reads.
    stack.sim.disconnectProfile(account.accountId, 'pro_home');
    await quiet(stack, account.accountId, 'quiet after the profile_disconnected push');
    const full = await stack.api.workflows.syncNow(account.accountId, 'full');
    expect(full).toMatchObject({ kind: 'full', deleted: 0 });
    expect(await stored(stack, account.accountId, home.event_uid)).toMatchObject({ deleted: false });
    expect((await lastFullRun(stack, account.accountId)).reconciliation).toMatchObject({
      outcome: 'skipped',
      reason: 'profile_disconnected',
      disconnectedProfiles: ['pro_home'],
      tombstoned: 0,
    });

    stack.sim.reconnectProfile(account.accountId, 'pro_home');
    await quiet(stack, account.accountId, 'quiet after reconnection');
    expect(await stack.api.workflows.syncNow(account.accountId, 'full')).toMatchObject({ deleted: 0 });
    for (const e of [...events, home]) {
      expect(await stored(stack, account.accountId, e.event_uid)).toMatchObject({ deleted: false });
    }
    expect(converged(await compareWithTruth(stack.db, stack.sim, account.accountId))).toBe(true);
  });

  it('drift: none on a converged account; counted for changes no notification announced', async () => {
    const { account, events } = await registeredWith(stack, 4);
    // The initial full sync built the copy: nothing to count against.
    const first = await stack.db
      .collection('sync_runs')
      .findOne({ accountId: account.accountId, kind: 'full', outcome: 'succeeded' });
    expect(first).toMatchObject({ drift: null });

    await stack.api.workflows.syncNow(account.accountId, 'full');
    expect(await lastFullRun(stack, account.accountId)).toMatchObject({
      drift: { inserted: 0, changed: 0, tombstoned: 0 },
    });

    // Three changes Cronofy made a while ago and never pushed (or whose pushes were lost).
    const id = account.accountId;
    const old = { notify: false, updated: TEN_MINUTES_AGO() };
    const calendar_id = account.calendarIds[0]!;
    stack.sim.upsertEvent(id, { calendar_id, summary: 'never pushed', ...slot(at(9, 9)) }, old);
    stack.sim.upsertEvent(id, { ...events[0]!, summary: 'renamed, never pushed' }, old);
    await storePhantoms(stack, id, 1, calendar_id);
    const before = await metric(stack, 'cronofy_full_sync_drift_total', { kind: 'inserted' });

    expect(await stack.api.workflows.syncNow(id, 'full')).toMatchObject({ upserted: 3, deleted: 1 });
    expect(await lastFullRun(stack, id)).toMatchObject({
      drift: { inserted: 1, changed: 1, tombstoned: 1 },
    });
    expect(await metric(stack, 'cronofy_full_sync_drift_total', { kind: 'inserted' })).toBe(before + 1);
    expect(converged(await compareWithTruth(stack.db, stack.sim, id))).toBe(true);
  });
});
