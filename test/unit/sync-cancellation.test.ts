/**
 * The sync activity when its attempt is cancelled (heartbeat or start-to-close timeout, terminated
 * workflow, worker shutdown): no MongoDB write after the cancellation, heartbeats that keep going
 * through slow steps (they are what delivers the cancellation) and stop once it arrived, and an
 * attempt that stalls ending itself rather than going quiet. Fakes for Cronofy and MongoDB; the
 * cancellation is the test's own AbortController, injected as the activity's signal.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ObjectId } from 'mongodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type SyncDeps, syncEvents } from '../../src/activities/sync-events.js';
import { KEEPALIVE_MAX_STALL_MS, SyncStalledError } from '../../src/activities/sync-keepalive.js';
import type { AccountAuth, CronofyClient, ReadEventsPageWithUrl } from '../../src/cronofy/client.js';
import type { CronofyEvent } from '../../src/cronofy/types.js';
import type { AccountInfo } from '../../src/store/accounts-repo.js';
import type { SyncInput } from '../../src/workflows/messages.js';

const input: SyncInput = { accountId: 'acc_1', kind: 'incremental', trigger: 'notification' };
const account = { accountId: 'acc_1', dataCenter: 'us', calendarIds: ['cal_1'] } as unknown as AccountInfo;
const auth: AccountAuth = { getAccessToken: async () => 't', refresh: async () => 't' };

function page(n: number, last: boolean): ReadEventsPageWithUrl {
  return {
    url: `http://cronofy.test/v1/events?page=${n}`,
    pages: {
      current: n,
      total: 2,
      ...(last ? {} : { next_page: `http://cronofy.test/v1/events?page=${n + 1}` }),
    },
    events: [{ event_uid: `evt_${n}`, calendar_id: 'cal_1' } as unknown as CronofyEvent],
  } as ReadEventsPageWithUrl;
}

/** MongoDB stand-ins that record every write. */
function fakeStore(onWritePage?: (n: number) => void) {
  const pagesWritten: string[][] = [];
  /** What the run recorded, in order: its outcome, and for a failure the attempt it was tied to. */
  const runUpdates: Array<{ outcome: 'succeeded' | 'failed'; attempt?: number }> = [];
  const deps = {
    events: {
      writePage: async (_accountId: string, events: CronofyEvent[]) => {
        pagesWritten.push(events.map((e) => e.event_uid));
        onWritePage?.(pagesWritten.length);
        return { upserted: events.length, deleted: 0, unchanged: 0 };
      },
      flushFeed: async () => 0,
    },
    syncRuns: {
      start: async () => new ObjectId().toHexString(),
      resumed: async () => undefined,
      progress: async () => undefined,
      succeeded: async () => {
        runUpdates.push({ outcome: 'succeeded' });
      },
      failed: async (_id: string, _run: unknown, attempt?: number) => {
        runUpdates.push({ outcome: 'failed', attempt });
      },
    },
    now: () => new Date(),
  };
  return { deps: deps as unknown as SyncDeps, pagesWritten, runUpdates };
}

/** A Cronofy client that yields the given pages; records the signal the activity bound to it. */
function fakeClient(pages: (signal: AbortSignal | undefined) => AsyncGenerator<ReadEventsPageWithUrl>) {
  let bound: AbortSignal | undefined;
  const client = {
    withSignal(signal: AbortSignal | undefined) {
      bound = signal;
      return client;
    },
    readEventsPages: () => pages(bound),
  };
  return client as unknown as CronofyClient;
}

/** The failing attempts are expected here: the SDK's "Activity failed" warnings are noise. */
function mockEnv(info: { attempt?: number } = {}) {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('syncEvents when its attempt is cancelled', () => {
  it('writes no page after the cancellation, even one already read, and does not record success', async () => {
    const ac = new AbortController();
    const reason = new Error('cancelled: heartbeat timeout');
    // The cancellation arrives while page 1 is written; page 2 has been read (ahead) by then.
    const store = fakeStore((n) => {
      if (n === 1) ac.abort(reason);
    });
    const client = fakeClient(async function* () {
      yield page(1, false);
      yield page(2, true);
    });
    const env = mockEnv({ attempt: 3 });
    const err = await env
      .run(syncEvents, { ...store.deps, signal: ac.signal }, input, account, client, auth)
      .catch((e: unknown) => e);
    expect(err).toBe(reason);
    expect(store.pagesWritten).toEqual([['evt_1']]);
    expect(store.runUpdates.map((u) => u.outcome)).not.toContain('succeeded');
    // The failure is recorded only if no later attempt took the run over (attempt 3 is still ours).
    expect(store.runUpdates.at(-1)).toEqual({ outcome: 'failed', attempt: 3 });
  });

  it('passes the cancellation to the Cronofy client (its budget wait and requests)', async () => {
    const ac = new AbortController();
    const store = fakeStore();
    let seen: AbortSignal | undefined;
    const client = fakeClient(async function* (signal) {
      seen = signal;
      yield page(1, true);
    });
    await mockEnv().run(syncEvents, { ...store.deps, signal: ac.signal }, input, account, client, auth);
    expect(seen).toBeDefined();
    expect(seen?.aborted).toBe(false);
    ac.abort();
    // The client's signal follows the activity's.
    expect(seen?.aborted).toBe(true);
  });

  it('heartbeats pages done of Cronofy’s pages.total (what the Web UI shows of a running sync)', async () => {
    const store = fakeStore();
    const client = fakeClient(async function* () {
      yield page(1, false);
      yield page(2, true);
    });
    const env = mockEnv();
    const details: unknown[] = [];
    env.on('heartbeat', (d: unknown) => details.push(d));
    await env.run(
      syncEvents,
      { ...store.deps, signal: new AbortController().signal },
      input,
      account,
      client,
      auth,
    );
    expect(details).toContainEqual(expect.objectContaining({ pages: 1, pagesTotal: 2, upserted: 1 }));
    expect(details.at(-1)).toMatchObject({ pages: 2, pagesTotal: 2, readDone: true });
  });

  it('keeps heartbeating through a slow request, and stops once cancelled', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const ac = new AbortController();
    const store = fakeStore();
    // A request that answers only when cancelled (as the real client does, with the signal's reason).
    const client = fakeClient(async function* (signal) {
      await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
      yield page(1, true);
    });
    const env = mockEnv();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    const run = env
      .run(
        syncEvents,
        { ...store.deps, signal: ac.signal, keepAliveIntervalMs: 1_000 },
        input,
        account,
        client,
        auth,
      )
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(5_500);
    expect(beats).toBe(5);
    ac.abort(new Error('workflow terminated'));
    await expect(run).resolves.toMatchObject({ message: 'workflow terminated' });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(beats).toBe(5);
    expect(store.pagesWritten).toEqual([]);
  });

  it('an attempt with no progress for KEEPALIVE_MAX_STALL_MS ends itself (it would never hear a cancellation)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const store = fakeStore();
    const client = fakeClient(async function* (signal) {
      await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
      yield page(1, true);
    });
    const env = mockEnv();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    const run = env
      .run(
        syncEvents,
        { ...store.deps, signal: new AbortController().signal, keepAliveIntervalMs: 10_000 },
        input,
        account,
        client,
        auth,
      )
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(KEEPALIVE_MAX_STALL_MS + 10_000);
    const err = await run;
    expect(err).toBeInstanceOf(SyncStalledError);
    // It heartbeated until the stall limit, then stopped with the attempt.
    expect(beats).toBe(KEEPALIVE_MAX_STALL_MS / 10_000);
    expect(store.pagesWritten).toEqual([]);
  });
});
