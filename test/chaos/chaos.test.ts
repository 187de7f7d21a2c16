/**
 * Chaos convergence, small and reproducible: a fixed seed drives creates, updates, moves (also out
 * of the sync window, past either edge, and back in), deletes, restores and calendar filter changes
 * (re-registration with a calendar added or removed) across 12 simulated accounts while Cronofy answers 5xx, 429 with Retry-After, slow
 * or not at all, access tokens expire, the worker is SIGKILLed in the middle of a sync, the
 * MongoDB-protocol and Temporal servers restart, and the receiver stays down long enough for the
 * simulator to close channels. When the faults stop, the service must converge by itself: `events`
 * equal to Cronofy's truth for every account (0 missing, 0 stale, 0 phantom), and a full sync forced
 * afterwards has nothing to correct (drift 0). The scenario lives in
 * bench/lib/chaos/scenario.ts; `npm run bench` runs a larger one (bench/chaos.ts).
 *
 * Servers: a Temporal dev server and a MongoDB-protocol server only this file uses, so stopping
 * them disturbs no other test file. CHAOS_LOG_DIR=<dir> keeps the API's and workers' logs.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportRows, runChaos } from '../../bench/lib/chaos/scenario.js';
import {
  type IsolatedServer,
  isolatedMongo,
  isolatedTemporal,
  type MongoInfo,
  type TemporalInfo,
} from '../support/env.js';

const SEED = 0x5eed_c4a0;

describe('chaos: the service converges with Cronofy after faults of every kind', () => {
  let temporal: IsolatedServer<TemporalInfo>;
  let mongo: IsolatedServer<MongoInfo>;

  beforeAll(async () => {
    [temporal, mongo] = await Promise.all([isolatedTemporal(), isolatedMongo()]);
  });
  afterAll(async () => {
    await Promise.allSettled([temporal?.close(), mongo?.close()]);
  });

  it('fixed seed: 0 missing, 0 stale, 0 phantom, and every fault really happened', {
    timeout: 240_000,
  }, async () => {
    const logDir = process.env.CHAOS_LOG_DIR ? path.resolve(process.env.CHAOS_LOG_DIR) : undefined;
    if (logDir) mkdirSync(logDir, { recursive: true });
    const report = await runChaos(
      {
        temporal: {
          address: temporal.info.address,
          stop: () => temporal.stop(),
          start: () => temporal.start(),
        },
        mongo: { uri: mongo.info.uri, stop: () => mongo.stop(), start: () => mongo.start() },
      },
      {
        seed: SEED,
        accounts: 12,
        initialEventsPerAccount: 15,
        opIntervalMs: 110,
        settleTimeoutMs: 100_000,
        log: (m) => console.info(m),
        logDir,
        diagnose: process.env.CHAOS_DIAGNOSE === '1',
      },
    );
    console.info(
      reportRows(report)
        .map(([k, v]) => `  ${k}: ${v.replaceAll('*', '')}`)
        .join('\n'),
    );
    const { missing, stale, phantom } = report.divergence;
    const full = report.finalFullSync;
    const removedCopiesTombstoned = full.unregisteredBefore - full.unregisteredAfter;
    console.info(
      `[chaos] missing=${missing} stale=${stale} phantom=${phantom} drift=${JSON.stringify(full.drift)} ` +
        `writes=${JSON.stringify(full.writes)} removed-calendar copies ${full.unregisteredBefore}→${full.unregisteredAfter}`,
    );
    if (missing + stale + phantom > 0) console.info(JSON.stringify(report.unconverged, null, 2));

    // Converged, by itself, on every account.
    expect(report.convergeMs).not.toBeNull();
    expect(report.divergence).toEqual({ missing: 0, stale: 0, phantom: 0 });
    expect(report.unconverged).toEqual({});
    expect(report.channelProblems).toEqual([]);
    expect(report.states).toEqual({ active: report.accounts });

    // The full sync after convergence corrects nothing: notifications, channel checks and catch-ups
    // (backfills of added calendars, and tombstones for removed ones, included) had already brought
    // every change in. (Drift counts inserts and changes only for changes older than DRIFT_GRACE_MS,
    // 5 min, which every change of this short run is younger than; `writes` has no such grace.)
    expect(full.failures).toEqual([]);
    expect(full.accounts).toBe(report.accounts);
    expect(full.withoutDrift).toEqual([]);
    expect(full.unregisteredBefore).toBe(0);
    expect(removedCopiesTombstoned).toBe(0);
    expect(full.drift).toEqual({ inserted: 0, changed: 0, tombstoned: 0 });
    expect(full.writes).toEqual({ upserted: 0, deleted: 0 });
    expect(full.divergenceAfter).toEqual({ missing: 0, stale: 0, phantom: 0 });

    // A consumer that followed each account's change feed through all of it holds exactly what
    // `events` holds: every change in order, nothing missed, nothing left unflushed.
    const feed = report.downstream.feed;
    expect({ missing: feed.missing, stale: feed.stale, phantom: feed.phantom }).toEqual({
      missing: 0,
      stale: 0,
      phantom: 0,
    });
    expect(feed.outOfOrder).toBe(0);
    expect(feed.pendingMarks).toBe(0);
    expect(feed.changes).toBeGreaterThan(0);
    // So does a webhook receiver subscribed to every account, verifying every signature, after
    // an outage of its own (503s while the service's receiver was down) and the worker kill.
    const hook = report.downstream.webhook;
    expect({ missing: hook.missing, stale: hook.stale, phantom: hook.phantom }).toEqual({
      missing: 0,
      stale: 0,
      phantom: 0,
    });
    expect(hook.outOfOrder).toBe(0);
    expect(hook.badSignatures).toBe(0);
    expect(hook.refused).toBeGreaterThan(0);
    expect(hook.changes).toBeGreaterThan(0);

    // Not vacuous: the work and every fault happened.
    const f = report.faults;
    expect(report.operations.total).toBeGreaterThanOrEqual(250);
    for (const kind of [
      'create',
      'update',
      'move',
      'delete',
      'restore',
      'move_out',
      'move_in',
      'add_calendar',
      'remove_calendar',
    ] as const) {
      expect(report.operations[kind]).toBeGreaterThan(0);
    }
    expect(report.world.liveOutsideWindow).toBeGreaterThan(0); // compared at their new times
    expect(report.world.inUnregisteredCalendars).toBeGreaterThan(0); // and these not expected
    // ... nor stored: a calendar never registered has not one document, not even a tombstone.
    expect(report.world.neverRegisteredStored).toBe(0);
    expect(f.cronofy5xx).toBeGreaterThan(0);
    expect(f.rateLimited429WithRetryAfter).toBeGreaterThan(0);
    expect(f.dropped).toBeGreaterThan(0);
    expect(f.slow).toBeGreaterThan(0);
    expect(f.tokenExpiries).toBeGreaterThan(0);
    expect(f.tokenRefreshes).toBeGreaterThan(0);
    expect(f.workerKills).toBe(1);
    expect(f.killedMidSync).toBeGreaterThan(0);
    // Each sync the dead worker was running was abandoned there and redone by the new worker.
    for (const run of report.killedRuns) expect(run).toMatchObject({ syncedAfterKill: true });
    expect(f.mongoRestarts).toBe(1);
    expect(f.temporalRestarts).toBe(1);
    expect(f.receiver503s).toBeGreaterThan(0); // pushes during the Temporal outage were refused, then retried
    expect(f.receiverOutages).toBe(1);
    expect(f.channelsClosed).toBeGreaterThan(0);
    expect(f.channelsRecreated).toBe(f.channelsClosed);
    expect(f.catchUpSyncs).toBeGreaterThan(0);
  });
});
