/**
 * The account workflow on the real time-skipping test server (days pass in milliseconds), with
 * scripted activities: debounce, timers, channel lifecycle, the retry window, continue-as-new.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TIMINGS } from '../../src/config.js';
import type { SyncTimings } from '../../src/domain.js';
import type { AccountSyncInput, AccountSyncTestOptions } from '../../src/workflows/input.js';
import {
  type AccountStatus,
  deregisterSignal,
  type NotificationSignal,
  notificationSignal,
  requestSyncSignal,
  statusQuery,
  syncNowUpdate,
  tokensUpdatedSignal,
} from '../../src/workflows/messages.js';
import { createTimeSkippingEnv } from '../support/env.js';
import { workflowBundle } from '../support/stack.js';
import { authRevoked, clientError, FakeActivities, serverError } from './fake-activities.js';

const HISTORIES = join(import.meta.dirname, 'histories');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

let env: TestWorkflowEnvironment;
let bundle: { code: string };

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  bundle = await workflowBundle();
});
afterAll(async () => {
  await env?.teardown();
});

interface Run {
  fake: FakeActivities;
  handle: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>;
  notify(n: Partial<NotificationSignal>): Promise<void>;
  status(): Promise<AccountStatus>;
}

/** Runs `body` with a worker on a fresh task queue and a started account workflow. */
async function withAccount(
  body: (r: Run) => Promise<void>,
  opts: {
    timings?: SyncTimings;
    testing?: AccountSyncTestOptions;
    setup?: (f: FakeActivities) => void;
    record?: string;
  } = {},
): Promise<void> {
  const taskQueue = `wf-${randomUUID()}`;
  const fake = new FakeActivities(env);
  const accountId = `acc-${randomUUID().slice(0, 8)}`;
  const callbackUrl = `http://127.0.0.1/cronofy/notifications/${accountId}`;
  // The worker's configuration agrees with the input unless a test changes it.
  fake.settings = { timings: opts.timings ?? DEFAULT_TIMINGS, callbackUrl };
  opts.setup?.(fake);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: fake.activities(),
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('accountSync', {
      taskQueue,
      workflowId: `cronofy-account:${accountId}`,
      args: [
        {
          accountId,
          timings: opts.timings ?? DEFAULT_TIMINGS,
          callbackUrl,
          testing: {
            searchAttributes: false,
            // The time-skipping test server never dispatches activities that carry a priority.
            taskPriorities: false,
            ...opts.testing,
          },
        } satisfies AccountSyncInput,
      ],
    });
    const run: Run = {
      fake,
      handle,
      notify: (n) =>
        handle.signal(notificationSignal, {
          type: 'change',
          changesSince: new Date().toISOString(),
          channelId: 'chn_1',
          receivedAt: new Date().toISOString(),
          ...n,
        }),
      status: () => handle.query(statusQuery),
    };
    try {
      // Initial work: load the account, create the channel, run the initial full sync. Waited for
      // explicitly: on a loaded machine it can take longer than any fixed slice of server time.
      for (let i = 0; i < 300 && (fake.syncs('full').length === 0 || (await run.status()).running); i++) {
        await env.sleep(100);
      }
      await body(run);
      if (opts.record && process.env.RECORD_HISTORIES) {
        // Refresh the replay fixtures: RECORD_HISTORIES=1 npx vitest run test/workflow/account-sync.test.ts
        const history = await handle.fetchHistory();
        // Binary protobuf: protojson in this SDK build trips over duplicated protobufjs copies.
        writeFileSync(
          join(HISTORIES, `${opts.record}.pb`),
          temporal.api.history.v1.History.encode(history).finish(),
        );
      }
    } finally {
      // Also when an assertion failed: a workflow left running with no worker polling its task
      // queue stops the test server from skipping time, and every later test in the file would
      // then wait in real time until it timed out.
      await handle.terminate('test done').catch(() => undefined);
    }
  });
}

/** A worker on a fresh task queue whose activities know no account (deregistered or never registered). */
async function withUnregistered(
  body: (fake: FakeActivities, taskQueue: string) => Promise<void>,
): Promise<void> {
  const taskQueue = `wf-${randomUUID()}`;
  const fake = new FakeActivities(env);
  fake.registered = false;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: fake.activities(),
  });
  await worker.runUntil(() => body(fake, taskQueue));
}

describe('accountSync workflow (time-skipping)', () => {
  it('starts by creating the channel and running a full sync', async () => {
    await withAccount(async ({ fake, status }) => {
      expect(fake.named('ensureChannel')).toHaveLength(1);
      expect(fake.syncs('full')).toHaveLength(1);
      const s = await status();
      expect(s.state).toBe('active');
      expect(s.channel.id).toBe('chn_1');
      expect(s.lastSyncs.full).toBeDefined();
    });
  });

  it('coalesces a burst of 200 notifications into one incremental sync from the earliest changes_since', async () => {
    await withAccount(
      async ({ fake, notify }) => {
        const base = Date.parse('2026-11-01T10:00:00Z');
        for (let i = 0; i < 200; i++) {
          // out of order, with replays: earliest is base + 0
          await notify({ changesSince: new Date(base + ((i * 7919) % 200) * 1000).toISOString() });
        }
        await env.sleep(61_000);
        const inc = fake.syncs('incremental');
        expect(inc).toHaveLength(1);
        expect(inc[0]?.input.lastModified).toBe(new Date(base).toISOString());
        // and nothing more happens while quiet
        await env.sleep(HOUR);
        expect(fake.syncs('incremental')).toHaveLength(1);
      },
      {
        record: 'burst',
        // The test server's clock runs in real time between skips; a quiet period far longer than
        // sending 200 signals can take on a loaded machine keeps the burst one burst.
        timings: { ...DEFAULT_TIMINGS, debounceQuietMs: 60_000, debounceMaxMs: 600_000 },
      },
    );
  });

  it('waits the quiet period, not twice it, and never more than the cap under a steady stream', async () => {
    await withAccount(async ({ fake, notify }) => {
      const t0 = await env.currentTimeMs();
      await notify({});
      await env.sleep(1_000);
      await notify({});
      await env.sleep(5_000);
      const first = fake.syncs('incremental')[0];
      // due 2 s after the second notification (t0 + ~3 s), not 2 × 2 s later
      expect(first).toBeDefined();
      expect(first!.at - t0).toBeGreaterThanOrEqual(2_900);
      expect(first!.at - t0).toBeLessThan(4_500);

      // a notification every second for 40 s: the cap (15 s) forces syncs anyway
      const t1 = await env.currentTimeMs();
      for (let i = 0; i < 40; i++) {
        await notify({});
        await env.sleep(1_000);
      }
      const during = fake.syncs('incremental').filter((c) => c.at > t1);
      expect(during.length).toBeGreaterThanOrEqual(2);
      expect(during[0]!.at - t1).toBeLessThanOrEqual(15_500);
    });
  });

  it('a notification arriving while a sync runs triggers another sync (no lost wake-up)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    await withAccount(
      async ({ fake, notify }) => {
        await notify({ changesSince: '2026-11-01T10:00:00Z' });
        await env.sleep(2_500);
        expect(fake.syncs('incremental')).toHaveLength(1); // running, held by the gate
        await notify({ changesSince: '2026-11-01T11:00:00Z' });
        release();
        await env.sleep(3_000);
        const inc = fake.syncs('incremental');
        expect(inc).toHaveLength(2);
        expect(inc[1]?.input.lastModified).toBe('2026-11-01T11:00:00.000Z');
      },
      {
        setup: (f) => {
          f.sync = async (input, n) => {
            if (input.kind === 'incremental' && n === 2) await gate;
            return undefined;
          };
        },
      },
    );
  });

  it('runs weekly full and window-edge syncs on their jittered slots over several weeks', async () => {
    await withAccount(
      async ({ fake, status }) => {
        const s = await status();
        const firstFull = Date.parse(s.nextFullSyncAt!);
        const firstEdge = Date.parse(s.nextWindowEdgeSyncAt!);
        // About four weeks, ending at least 10 minutes away from any slot: the account id (and so
        // its slots) is random, and a slot landing right at the end would make the count a race.
        const now = await env.currentTimeMs();
        let end = now + 4 * WEEK + HOUR;
        const slots = [0, 1, 2, 3, 4, 5].flatMap((i) => [firstFull + i * WEEK, firstEdge + i * WEEK]);
        while (slots.some((t) => Math.abs(t - end) < 10 * 60_000)) end += 30 * 60_000;
        await env.sleep(end - now);
        const due = (first: number) => [0, 1, 2, 3, 4, 5].filter((i) => first + i * WEEK < end).length;
        const fulls = fake.syncs('full').slice(1); // the first was the initial sync
        const edges = fake.syncs('window_edge');
        expect(due(firstFull)).toBeGreaterThanOrEqual(4); // the check below covers four weeks at least
        expect(fulls.length).toBe(due(firstFull));
        expect(edges.length).toBe(due(firstEdge));
        for (const [i, c] of fulls.entries())
          expect(Math.abs(c.at - (firstFull + i * WEEK))).toBeLessThan(60_000);
        for (const [i, c] of edges.entries())
          expect(Math.abs(c.at - (firstEdge + i * WEEK))).toBeLessThan(60_000);
        // periodic syncs are marked as such (they get the background share of the rate budget)
        expect(fulls.every((c) => c.input.trigger === 'schedule')).toBe(true);
        // idle for four weeks: channel checks once a day, nothing else
        const checks = fake.named('checkChannel');
        expect(checks.length).toBeGreaterThanOrEqual(27);
        expect(checks.length).toBeLessThanOrEqual(29);
      },
      { record: 'weekly-timers' },
    );
  });

  it('recreates a channel Cronofy closed and catches up from the watermark', async () => {
    await withAccount(
      async ({ fake, status }) => {
        fake.openChannels.clear(); // Cronofy closed it silently
        await env.sleep(DAY + HOUR);
        expect(fake.named('checkChannel').length).toBeGreaterThanOrEqual(1);
        const ensures = fake.named('ensureChannel');
        expect(ensures).toHaveLength(2);
        const after = await status();
        expect(after.channel.id).toBe('chn_2');
        const catchUp = fake.syncs('catch_up');
        expect(catchUp).toHaveLength(1);
        // From the watermark of the last sync that read everything up to its start (a jittered
        // full sync may have run in between; window-edge syncs do not move the watermark).
        const prior = fake
          .syncs()
          .filter((c) => c.at <= catchUp[0]!.at && c !== catchUp[0] && c.input.kind !== 'window_edge')
          .at(-1);
        expect(catchUp[0]?.input.lastModified).toBe(prior?.result?.watermark);
      },
      { record: 'channel-recreated' },
    );
  });

  it('ignores notifications for a channel that is not the current one', async () => {
    await withAccount(async ({ fake, notify }) => {
      await notify({ channelId: 'chn_old' });
      await env.sleep(5_000);
      expect(fake.syncs('incremental')).toHaveLength(0);
      await notify({ channelId: 'chn_1' });
      await env.sleep(5_000);
      expect(fake.syncs('incremental')).toHaveLength(1);
    });
  });

  it('revoked authorization for the whole retry window → disconnected, channel closed; new tokens → active + full sync', async () => {
    let revoked = false;
    await withAccount(
      async ({ fake, notify, status, handle }) => {
        revoked = true;
        await notify({});
        await env.sleep(HOUR);
        let s = await status();
        expect(s.state).toBe('degraded');
        expect(s.lastError?.type).toBe('auth');
        expect(s.pending.notifications).toBe(1); // kept for the retry

        await env.sleep(6 * HOUR);
        s = await status();
        expect(s.state).toBe('disconnected');
        expect(s.channel.id).toBeNull();
        expect(fake.named('closeChannel')).toHaveLength(1);
        const attempts = fake.syncs().length;
        await env.sleep(WEEK); // nothing is attempted while disconnected
        expect(fake.syncs().length).toBe(attempts);

        revoked = false;
        await handle.signal(tokensUpdatedSignal);
        await env.sleep(5_000);
        s = await status();
        expect(s.state).toBe('active');
        expect(s.channel.id).toBe('chn_2');
        expect(fake.syncs('full').at(-1)?.at).toBeGreaterThan(fake.named('closeChannel')[0]!.at);
        expect(fake.named('recordAccountState').map((c) => (c.input as { state: string }).state)).toEqual([
          'degraded',
          'disconnected',
          'active',
        ]);
      },
      {
        setup: (f) => {
          f.sync = async () => {
            if (revoked) throw authRevoked();
            return undefined;
          };
        },
        record: 'revoked-disconnected-reconnected',
        // A 6 h window (configurable, 24 h by default) keeps the number of backed-off attempts small.
        timings: { ...DEFAULT_TIMINGS, syncRetryWindowMs: 6 * HOUR },
      },
    );
  }, 120_000);

  it('Cronofy failing for the whole retry window → degraded, channel recreated, full sync scheduled, recovers', async () => {
    let failing = false;
    await withAccount(
      async ({ fake, notify, status }) => {
        failing = true;
        await notify({});
        await env.sleep(8 * HOUR);
        let s = await status();
        expect(s.state).toBe('degraded');
        expect(s.lastError?.type).toBe('transient');
        // the activity was retried with backoff over the window, not once
        expect(fake.syncs('incremental').length).toBeGreaterThan(20);
        expect(fake.named('ensureChannel').length).toBeGreaterThanOrEqual(2);
        failing = false;
        await env.sleep(2 * HOUR);
        s = await status();
        expect(s.state).toBe('active');
        expect(s.lastError).not.toBeNull();
        expect(fake.syncs('full').length).toBeGreaterThanOrEqual(2);
      },
      {
        // A 6 h retry window (24 h by default) keeps the number of backed-off attempts small.
        timings: { ...DEFAULT_TIMINGS, syncRetryWindowMs: 6 * HOUR },
        setup: (f) => {
          f.sync = async () => {
            if (failing) throw serverError();
            return undefined;
          };
        },
      },
    );
  }, 120_000);

  it('profile_initial_sync_completed triggers a full sync; profile_disconnected shows in the status', async () => {
    await withAccount(async ({ fake, notify, status }) => {
      // As Cronofy's UserInfo then says too (the status follows it: see the profile-state test).
      fake.profiles = fake.profiles.map((p) => ({ ...p, connected: false, relinkUrl: 'https://relink' }));
      await notify({ type: 'profile_disconnected' });
      await env.sleep(1_000);
      expect((await status()).profileDisconnected).not.toBeNull();
      await notify({ type: 'profile_initial_sync_completed' });
      await env.sleep(1_000);
      expect(fake.syncs('full')).toHaveLength(2);
    });
  });

  it('syncNow update returns the sync result; requestSync signal queues one', async () => {
    await withAccount(async ({ fake, handle }) => {
      const res = await handle.executeUpdate(syncNowUpdate, { args: [{ mode: 'full' }] });
      expect(res).toMatchObject({ kind: 'full', pages: 1 });
      await handle.signal(requestSyncSignal, { mode: 'incremental' });
      await env.sleep(1_000);
      expect(fake.syncs('incremental')).toHaveLength(1);
      await expect(
        handle.executeUpdate(syncNowUpdate, { args: [{ mode: 'bogus' as never }] }),
      ).rejects.toThrow();
    });
  });

  it('continues as new with its state and pending notifications', async () => {
    await withAccount(
      async ({ handle, notify, status }) => {
        const firstRun = (await handle.describe()).runId;
        for (let i = 0; i < 30; i++) {
          await notify({});
          await env.sleep(3_000);
        }
        const before = await status();
        // leave a notification pending, then let the loop notice the history limit
        await notify({ changesSince: '2026-11-02T00:00:00Z' });
        await env.sleep(500);
        const d = await handle.describe();
        expect(d.runId).not.toBe(firstRun);
        const after = await status();
        expect(after.lastSyncs.full?.at).toBe(before.lastSyncs.full?.at);
        expect(after.channel.id).toBe(before.channel.id);
        expect(after.nextFullSyncAt).toBe(before.nextFullSyncAt);
        expect(after.watermark).toBe(before.watermark);
        expect(after.pending.notifications).toBe(1);
        expect(after.pending.earliestChangesSince).toBe('2026-11-02T00:00:00.000Z');
        await env.sleep(3_000);
        const s = await status();
        expect(s.lastSyncs.incremental?.at).not.toBe(before.lastSyncs.incremental?.at);
      },
      { testing: { historyLimit: 150 }, record: 'continue-as-new' },
    );
  });

  it('MongoDB down for over an hour at a state change: the workflow lives on and records it later', async () => {
    await withAccount(
      async ({ fake, handle, status }) => {
        const t0 = await env.currentTimeMs();
        const before = await status();
        fake.mongoDownUntil = t0 + 2 * HOUR;
        fake.sync = async () => {
          throw clientError();
        };
        await handle.signal(requestSyncSignal, { mode: 'incremental' });
        // Past the recording's 1 h schedule-to-close: before the fix, the workflow failed here and
        // the account lost its watermark and timers.
        await env.sleep(90 * 60_000);
        expect((await handle.describe()).status.name).toBe('RUNNING');
        const mid = await status();
        expect(mid.state).toBe('degraded');
        expect(mid.lastError?.message).toMatch(/^bookkeeping: /);
        expect(mid.watermark).toBe(before.watermark);
        expect(mid.nextFullSyncAt).toBe(before.nextFullSyncAt);

        // MongoDB is back at t0 + 2 h: the record step writes what the workflow knows.
        fake.sync = () => undefined;
        await env.sleep(90 * 60_000);
        const sinceBack = (name: string) => fake.named(name).filter((c) => c.at >= t0 + 2 * HOUR);
        expect(sinceBack('recordChannel').at(-1)?.input).toEqual({
          accountId: mid.accountId,
          channelId: 'chn_1',
        });
        expect(sinceBack('recordAccountState').at(-1)?.input).toMatchObject({ state: 'degraded' });

        // The next successful sync makes it active again, and that is recorded too.
        await handle.signal(requestSyncSignal, { mode: 'incremental' });
        await env.sleep(60_000);
        expect((await status()).state).toBe('active');
        expect(fake.named('recordAccountState').at(-1)?.input).toMatchObject({ state: 'active' });
      },
      { record: 'bookkeeping-outage' },
    );
  });

  it('settings changed on the worker reach a running account: a new interval and a new PUBLIC_URL', async () => {
    await withAccount(
      async ({ fake, notify, status }) => {
        const before = await status();
        const oldUrl = fake.settings?.callbackUrl as string;
        const newUrl = oldUrl.replace('http://127.0.0.1', 'https://sync.example.com');
        fake.settings = {
          timings: { ...DEFAULT_TIMINGS, fullSyncIntervalMs: 2 * HOUR },
          callbackUrl: newUrl,
        };
        // Taken at the first wake-up an hour or more after the settings were last read.
        await env.sleep(HOUR + 60_000);
        await notify({});
        await env.sleep(6 * HOUR);
        // A new channel for the new URL; the old URL's channel is closed by the same call.
        expect(fake.named('ensureChannel').at(-1)?.input).toMatchObject({
          callbackUrl: newUrl,
          staleCallbackUrls: [oldUrl],
        });
        // Full syncs now every 2 h instead of weekly.
        const scheduled = fake.syncs('full').filter((c) => c.input.trigger === 'schedule');
        expect(scheduled.length).toBeGreaterThanOrEqual(2);
        expect((await status()).nextFullSyncAt).not.toBe(before.nextFullSyncAt);
      },
      { record: 'settings-changed' },
    );
  });

  it('a channel Cronofy refuses does not stop the account syncing; it is retried apart', async () => {
    await withAccount(
      async ({ fake, status, notify }) => {
        // Registration's initial full sync ran although the channel was refused.
        expect(fake.syncs('full')).toHaveLength(1);
        const s = await status();
        expect(s.state).toBe('degraded');
        expect(s.lastError?.message).toMatch(/^channel: /);
        // Syncs go on (a manual one here), and the channel is retried on its own backoff.
        await notify({});
        await env.sleep(60_000);
        expect(fake.syncs('incremental').length + fake.syncs('full').length).toBeGreaterThanOrEqual(2);
        const tries = fake.named('ensureChannel').length;
        expect(tries).toBeGreaterThanOrEqual(2);
        // Cronofy takes it at last: a channel, and active again.
        fake.channelFailure = undefined;
        await env.sleep(30 * 60_000);
        const after = await status();
        expect(after.channel.id).not.toBeNull();
        expect(after.state).toBe('active');
      },
      {
        setup: (f) => {
          f.channelFailure = clientError;
        },
        record: 'channel-refused',
      },
    );
  });

  it('a calendar added at re-registration is backfilled by a full read of that calendar', async () => {
    await withAccount(
      async ({ fake, handle, status }) => {
        const before = await status();
        // Re-registration with one more calendar: new settings stored, the workflow told.
        fake.calendarIds = ['cal_a', 'cal_b'];
        await handle.signal(tokensUpdatedSignal);
        await env.sleep(60_000);
        const backfill = fake.syncs('catch_up').filter((c) => c.input.calendarIds);
        expect(backfill.map((c) => c.input)).toEqual([
          expect.objectContaining({ kind: 'catch_up', calendarIds: ['cal_b'] }),
        ]);
        expect(backfill[0]?.input.lastModified).toBeUndefined(); // the whole window, not a catch-up
        // It read only cal_b: the watermark (all calendars) stays where the last full read put it.
        const after = await status();
        expect(after.channel.id).not.toBe(before.channel.id);
        expect(after.lastSyncs.catch_up).toBeDefined();
      },
      {
        setup: (f) => {
          f.calendarIds = ['cal_a'];
        },
        record: 'calendar-added',
      },
    );
  });

  it('a calendar removed at re-registration has its stored events tombstoned', async () => {
    await withAccount(
      async ({ fake, handle }) => {
        fake.calendarIds = ['cal_a'];
        await handle.signal(tokensUpdatedSignal);
        await env.sleep(60_000);
        expect(fake.named('tombstoneOtherCalendars').map((c) => c.input)).toEqual([
          expect.objectContaining({ keepCalendarIds: ['cal_a'] }),
        ]);
        // Narrowing adds nothing to read.
        expect(fake.syncs('catch_up').filter((c) => c.input.calendarIds)).toEqual([]);
      },
      {
        setup: (f) => {
          f.calendarIds = ['cal_a', 'cal_b'];
        },
        record: 'calendar-removed',
      },
    );
  });

  it('a calendar removed while Cronofy refuses the channel is pruned after the next sync, from its result', async () => {
    await withAccount(
      async ({ fake, handle, notify }) => {
        fake.channelFailure = clientError;
        fake.calendarIds = ['cal_a'];
        await handle.signal(tokensUpdatedSignal);
        await env.sleep(60_000);
        // The refused channel tells the workflow nothing; the sync's result does.
        expect(fake.named('tombstoneOtherCalendars')).toEqual([]);
        await notify({});
        await env.sleep(60_000);
        expect(fake.named('tombstoneOtherCalendars').map((c) => c.input)).toEqual([
          expect.objectContaining({ keepCalendarIds: ['cal_a'] }),
        ]);
      },
      {
        setup: (f) => {
          f.calendarIds = ['cal_a', 'cal_b'];
          f.reportsRegistration = true;
        },
        record: 'calendars-from-sync',
      },
    );
  });

  it('a degraded account re-registered with new calendars gets its channel filter replaced', async () => {
    await withAccount(
      async ({ fake, handle, status }) => {
        fake.sync = async () => {
          throw clientError();
        };
        await handle.signal(requestSyncSignal, { mode: 'incremental' });
        await env.sleep(30_000);
        expect((await status()).state).toBe('degraded');
        const ensures = fake.named('ensureChannel').length;
        fake.calendarIds = ['cal_a', 'cal_b'];
        fake.sync = () => undefined;
        await handle.signal(tokensUpdatedSignal);
        await env.sleep(60_000);
        expect(fake.named('ensureChannel').length).toBeGreaterThan(ensures);
        expect(fake.syncs('catch_up').some((c) => c.input.calendarIds?.includes('cal_b'))).toBe(true);
      },
      {
        setup: (f) => {
          f.calendarIds = ['cal_a'];
        },
        record: 'calendar-added-while-degraded',
      },
    );
  });

  it('profile state comes from Cronofy: read at registration and on profile pushes, with the relink URL', async () => {
    await withAccount(
      async ({ fake, notify, status }) => {
        expect((await status()).profiles).toEqual(fake.profiles);
        const relinkUrl = 'https://app.cronofy.com/relink/pro_1';
        fake.profiles = [{ ...fake.profiles[0]!, connected: false, relinkUrl }];
        await notify({ type: 'profile_disconnected', changesSince: undefined });
        await env.sleep(1_000);
        let s = await status();
        expect(s.profiles).toEqual([
          expect.objectContaining({ profileId: 'pro_1', connected: false, relinkUrl }),
        ]);
        expect(s.profileDisconnected).not.toBeNull();
        // Relinked: Cronofy says so, and the status stops claiming a disconnection.
        fake.profiles = [{ ...fake.profiles[0]!, connected: true, relinkUrl: null }];
        await notify({ type: 'conferencing_profile_disconnected', changesSince: undefined });
        await env.sleep(1_000);
        s = await status();
        expect(s.profiles?.[0]?.connected).toBe(true);
        expect(s.profileDisconnected).toBeNull();
        expect(fake.named('profileStates')).toHaveLength(3);
      },
      { record: 'profiles' },
    );
  });

  it('deregister closes the channel and completes', async () => {
    await withAccount(async ({ fake, handle }) => {
      await handle.signal(deregisterSignal, { purge: true });
      const result = await handle.result();
      expect(result).toMatchObject({ state: 'closed', reason: 'deregistered' });
      expect(fake.named('closeChannel')).toHaveLength(1);
      expect(fake.named('finishDeregistration')[0]?.input).toMatchObject({ purge: true });
    });
  });

  it('an unregistered account ends at once without touching Cronofy', async () => {
    await withUnregistered(async (fake, taskQueue) => {
      const result = await env.client.workflow.execute('accountSync', {
        taskQueue,
        workflowId: `cronofy-account:ghost-${randomUUID()}`,
        args: [
          {
            accountId: 'ghost',
            timings: DEFAULT_TIMINGS,
            callbackUrl: 'http://x',
            testing: { searchAttributes: false },
          },
        ],
      });
      expect(result).toMatchObject({ state: 'closed', reason: 'not_registered' });
      expect(fake.named('ensureChannel')).toHaveLength(0);
      expect(fake.syncs()).toHaveLength(0);
    });
  });

  it('a push for an account we no longer have closes the channel it came through', async () => {
    // Its close failed at deregistration: without this every push would start a run like this one.
    await withUnregistered(async (fake, taskQueue) => {
      const handle = await env.client.workflow.signalWithStart('accountSync', {
        taskQueue,
        workflowId: `cronofy-account:gone-${randomUUID()}`,
        args: [
          {
            accountId: 'gone',
            timings: DEFAULT_TIMINGS,
            callbackUrl: 'http://x',
            testing: { searchAttributes: false, taskPriorities: false },
          },
        ],
        signal: notificationSignal,
        signalArgs: [
          {
            type: 'change',
            changesSince: '2026-11-30T00:00:00Z',
            channelId: 'chn_orphan',
            receivedAt: new Date().toISOString(),
          },
        ],
      });
      expect(await handle.result()).toMatchObject({ state: 'closed', reason: 'not_registered' });
      expect(fake.named('closeChannel').map((c) => c.input)).toEqual([
        { accountId: 'gone', channelId: 'chn_orphan' },
      ]);
      expect(fake.syncs()).toHaveLength(0);
    });
  });

  it('profile_initial_sync_completed pushes buy at most one full sync an hour', async () => {
    await withAccount(
      async ({ fake, notify }) => {
        // Full syncs started, not attempts: on a loaded machine the skipped server time can pass a
        // fake sync's heartbeat timeout before it returns, and Temporal retries that same sync.
        const fullSyncs = () => fake.syncs('full').filter((c) => c.attempt === 1).length;
        const before = fullSyncs();
        // A captured push replayed every 10 minutes for 50 minutes.
        for (let i = 0; i < 6; i++) {
          await notify({ type: 'profile_initial_sync_completed', changesSince: undefined });
          await env.sleep(10 * 60_000);
        }
        expect(fullSyncs() - before).toBe(1);
        // An hour after the first, the next one counts again.
        await env.sleep(15 * 60_000);
        await notify({ type: 'profile_initial_sync_completed', changesSince: undefined });
        await env.sleep(60_000);
        expect(fullSyncs() - before).toBe(2);
      },
      { record: 'push-full-syncs-bounded' },
    );
  });
});
